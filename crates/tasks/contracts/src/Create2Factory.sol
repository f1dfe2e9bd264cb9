// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// Deploys init code with CREATE2, so the address depends only on this factory, the salt and
/// the code: `keccak256(0xff ++ factory ++ salt ++ keccak256(initCode))[12:]`.
contract Create2Factory {
    event Deployed(address indexed deployed, bytes32 indexed salt);

    function deploy(bytes32 salt, bytes calldata initCode) external payable returns (address deployed) {
        bytes memory code = initCode;
        assembly {
            deployed := create2(callvalue(), add(code, 0x20), mload(code), salt)
        }
        require(deployed != address(0), "Create2Factory: deployment failed");
        emit Deployed(deployed, salt);
    }
}
