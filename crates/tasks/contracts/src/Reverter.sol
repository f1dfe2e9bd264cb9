// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// Failure traffic: every call reverts with the same reason, after being included and paid for.
contract Reverter {
    function fail() external pure {
        revert("Reverter: this call always reverts");
    }
}
