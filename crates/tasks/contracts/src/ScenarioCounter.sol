// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// The counter of the scenario examples (examples/scenarios/counter.toml): `increment` adds
/// one to `count`, `set` writes `value` (another slot, so the final count is the start plus
/// the increments that succeeded), `fail` always reverts.
contract ScenarioCounter {
    uint256 public count;
    uint256 public value;

    constructor(uint256 start) {
        count = start;
    }

    function increment() external {
        count += 1;
    }

    function set(uint256 v) external {
        value = v;
    }

    function fail() external pure {
        revert("ScenarioCounter: fail");
    }
}
