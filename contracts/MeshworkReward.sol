// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title Meshwork Reward (MESH)
/// @notice Volunteers claim MESH with vouchers that the hub signs off-chain. A voucher carries the account's
/// cumulative credit, so the hub never tracks what was paid: the contract mints only the part not yet claimed,
/// and an old or replayed voucher pays nothing.
contract MeshworkReward is ERC20, EIP712 {
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(address account,uint256 cumulativeAmount,uint256 deadline)");

    /// @notice The hub's reward key; the only signer whose vouchers mint.
    address public immutable voucherSigner;

    /// @notice Cumulative amount already minted to each account.
    mapping(address account => uint256) public claimed;

    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);

    error VoucherExpired(uint256 deadline);
    error InvalidSigner(address recovered);
    error NothingToClaim(uint256 cumulativeAmount, uint256 alreadyClaimed);

    constructor(address voucherSigner_) ERC20("Meshwork Reward", "MESH") EIP712("Meshwork Reward", "1") {
        voucherSigner = voucherSigner_;
    }

    /// @notice Mints `cumulativeAmount - claimed[account]` to `account`. Anyone may submit the transaction:
    /// the signed voucher binds the recipient, so a relayer can pay gas but cannot redirect the tokens.
    function claim(address account, uint256 cumulativeAmount, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert VoucherExpired(deadline);

        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, account, cumulativeAmount, deadline)));
        // tryRecover so a malformed signature reports InvalidSigner(0) instead of OZ's own errors.
        (address recovered,,) = ECDSA.tryRecover(digest, signature);
        if (recovered != voucherSigner || recovered == address(0)) revert InvalidSigner(recovered);

        uint256 alreadyClaimed = claimed[account];
        if (cumulativeAmount <= alreadyClaimed) revert NothingToClaim(cumulativeAmount, alreadyClaimed);

        uint256 amount = cumulativeAmount - alreadyClaimed;
        claimed[account] = cumulativeAmount;
        _mint(account, amount);
        emit Claimed(account, amount, cumulativeAmount);
    }

    /// @notice The EIP-712 domain separator, for off-chain signers that want to check theirs.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
