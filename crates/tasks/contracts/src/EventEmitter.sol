// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// Receipts and bloom filters: every call emits `n` logs with two indexed topics each.
contract EventEmitter {
    event Ping(address indexed sender, uint256 indexed index, bytes32 data);

    function fire(uint256 n) external {
        bytes32 data = blockhash(block.number - 1);
        for (uint256 i = 0; i < n; ++i) {
            emit Ping(msg.sender, i, data);
        }
    }
}
