// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// Batches: runs calls in order in one transaction; the whole batch reverts if one call fails.
contract Multicall {
    struct Call {
        address target;
        bytes data;
    }

    error CallFailed(uint256 index, bytes reason);

    function aggregate(Call[] calldata calls) external returns (bytes[] memory results) {
        results = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory ret) = calls[i].target.call(calls[i].data);
            if (!ok) revert CallFailed(i, ret);
            results[i] = ret;
        }
    }
}
