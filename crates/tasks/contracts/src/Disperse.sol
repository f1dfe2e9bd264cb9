// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

interface IERC20Transfer {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// One transaction, many recipients: ether from the call's value, or tokens the sender approved.
contract Disperse {
    function disperseEther(address[] calldata recipients, uint256[] calldata values) external payable {
        require(recipients.length == values.length, "Disperse: length mismatch");
        for (uint256 i = 0; i < recipients.length; ++i) {
            (bool ok, ) = recipients[i].call{value: values[i]}("");
            require(ok, "Disperse: ether transfer failed");
        }
        // Whatever the values did not use goes back to the sender.
        uint256 left = address(this).balance;
        if (left > 0) {
            (bool ok, ) = msg.sender.call{value: left}("");
            require(ok, "Disperse: refund failed");
        }
    }

    function disperseToken(address token, address[] calldata recipients, uint256[] calldata values) external {
        require(recipients.length == values.length, "Disperse: length mismatch");
        for (uint256 i = 0; i < recipients.length; ++i) {
            require(IERC20Transfer(token).transferFrom(msg.sender, recipients[i], values[i]), "Disperse: transfer failed");
        }
    }
}
