// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// Compute without state: hashes in a loop until `gasToBurn` gas is spent.
contract GasBurner {
    function burn(uint256 gasToBurn) external view returns (bytes32 digest) {
        // Reverts (underflow) when the transaction did not bring that much gas.
        uint256 stopAt = gasleft() - gasToBurn;
        digest = bytes32(gasToBurn);
        while (gasleft() > stopAt) {
            digest = keccak256(abi.encode(digest));
        }
    }
}
