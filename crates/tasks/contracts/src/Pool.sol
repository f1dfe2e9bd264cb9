// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

interface IERC20Pair {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// A minimal constant-product pool (x * y = k, 0.3% fee) for DEX-like traffic. Liquidity shares
/// are tracked but cannot be withdrawn: the pool exists to be swapped against.
contract Pool {
    address public immutable token0;
    address public immutable token1;
    uint256 public reserve0;
    uint256 public reserve1;
    uint256 public totalShares;
    mapping(address => uint256) public shares;

    event Liquidity(address indexed provider, uint256 amount0, uint256 amount1, uint256 shares);
    event Swap(address indexed trader, bool zeroForOne, uint256 amountIn, uint256 amountOut);

    constructor(address token0_, address token1_) {
        token0 = token0_;
        token1 = token1_;
    }

    /// Adds both tokens; shares follow the smaller side's ratio (an excess stays in the pool).
    function addLiquidity(uint256 amount0, uint256 amount1) external returns (uint256 minted) {
        _pull(token0, amount0);
        _pull(token1, amount1);
        uint256 total = totalShares;
        if (total == 0) {
            minted = _sqrt(amount0 * amount1);
        } else {
            uint256 by0 = (amount0 * total) / reserve0;
            uint256 by1 = (amount1 * total) / reserve1;
            minted = by0 < by1 ? by0 : by1;
        }
        require(minted > 0, "Pool: no shares");
        shares[msg.sender] += minted;
        totalShares = total + minted;
        reserve0 += amount0;
        reserve1 += amount1;
        emit Liquidity(msg.sender, amount0, amount1, minted);
    }

    function swap(bool zeroForOne, uint256 amountIn, uint256 minOut) external returns (uint256 amountOut) {
        (address tokenIn, address tokenOut, uint256 reserveIn, uint256 reserveOut) = zeroForOne
            ? (token0, token1, reserve0, reserve1)
            : (token1, token0, reserve1, reserve0);
        uint256 inWithFee = amountIn * 997;
        amountOut = (inWithFee * reserveOut) / (reserveIn * 1000 + inWithFee);
        require(amountOut > 0 && amountOut >= minOut, "Pool: output too low");
        _pull(tokenIn, amountIn);
        require(IERC20Pair(tokenOut).transfer(msg.sender, amountOut), "Pool: transfer failed");
        if (zeroForOne) {
            (reserve0, reserve1) = (reserveIn + amountIn, reserveOut - amountOut);
        } else {
            (reserve1, reserve0) = (reserveIn + amountIn, reserveOut - amountOut);
        }
        emit Swap(msg.sender, zeroForOne, amountIn, amountOut);
    }

    function _pull(address token, uint256 amount) private {
        require(IERC20Pair(token).transferFrom(msg.sender, address(this), amount), "Pool: transferFrom failed");
    }

    function _sqrt(uint256 x) private pure returns (uint256 y) {
        if (x == 0) return 0;
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }
}
