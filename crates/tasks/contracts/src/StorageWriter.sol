// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// State growth: every call fills `n` storage slots that were never written before.
contract StorageWriter {
    /// Slots written so far; the next call starts at this key.
    uint256 public written;
    /// Key `k` holds `k + 1` once written (never zero, so each write creates a slot).
    mapping(uint256 => uint256) public slots;

    function write(uint256 n) external {
        uint256 start = written;
        uint256 end = start + n;
        for (uint256 k = start; k < end; ++k) {
            slots[k] = k + 1;
        }
        written = end;
    }
}
