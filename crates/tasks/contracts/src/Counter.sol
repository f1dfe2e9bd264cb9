// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// One storage slot that only goes up. Also the delegate of the EIP-7702 task: called through a
/// delegated account, it counts in that account's own storage.
contract Counter {
    uint256 public count;

    function increment() external {
        count += 1;
    }
}
