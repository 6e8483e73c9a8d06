# pragma version ~=0.4.3
"""
@title Code Store
@custom:contract-name code_store
@license GNU Affero General Public License v3.0 only
@notice Stateless helpers that keep a blob of data in the code of a tiny
        contract (the SSTORE2 pattern) and read it back. Reading costs one
        cold call (2,600 gas) plus a copy, where the same data in storage
        costs 2,100 gas per 32-byte word. Code cannot change: new data gets
        a new contract. Data that changes rarely and is read on every call
        (a basket's constituent list, an oracle's feed configuration) belongs
        here.

        The data contract's code is a 10-byte prefix followed by the data:
        PUSH2 <size> DUP1 PUSH1 0x0a RETURNDATASIZE CODECOPY RETURNDATASIZE
        RETURN, which returns the <size> bytes after it to any caller. The
        same prefix, sized to the runtime code, is its creation code. The
        data is public, as storage is.
"""


# @dev The largest blob a data contract holds.
MAX_SIZE: constant(uint256) = 2048


# @dev The largest blob of `_write_large` (an oracle bundle of 50 eight-word
# configurations: the ABI encoding of its words, seven chunks of eight
# configurations and their two head words, after its own head): a separate
# size, so that the memory of every `_read` caller is not sized for it.
MAX_LARGE_SIZE: constant(uint256) = 14848


# @dev Where the blob starts in a data contract's code: a reader may copy a
# part of it with `slice(pointer.code, DATA_OFFSET + start, length)` (one
# EXTCODECOPY, no call, no copy of the rest).
DATA_OFFSET: constant(uint256) = 10


# @dev PUSH2, then the two size bytes, then the rest of the prefix.
_PUSH2: constant(Bytes[1]) = b"\x61"
_RETURN_TAIL: constant(Bytes[7]) = b"\x80\x60\x0a\x3d\x39\x3d\xf3"


@internal
def _write(data: Bytes[MAX_SIZE]) -> address:
    """
    @dev Deploys a data contract holding `data`.
    @param data The blob, at most `MAX_SIZE` bytes.
    @return address The data contract.
    """
    runtime: Bytes[MAX_SIZE + 10] = concat(_PUSH2, self._uint16(len(data)), _RETURN_TAIL, data)
    return raw_create(concat(_PUSH2, self._uint16(len(runtime)), _RETURN_TAIL, runtime))


@internal
def _write_large(data: Bytes[MAX_LARGE_SIZE]) -> address:
    """
    @dev `_write` for a blob of up to `MAX_LARGE_SIZE` bytes.
    @param data The blob.
    @return address The data contract.
    """
    runtime: Bytes[MAX_LARGE_SIZE + 10] = concat(_PUSH2, self._uint16(len(data)), _RETURN_TAIL, data)
    return raw_create(concat(_PUSH2, self._uint16(len(runtime)), _RETURN_TAIL, runtime))


@internal
@view
def _read(pointer: address) -> Bytes[MAX_SIZE]:
    """
    @dev Reads the blob of the data contract at `pointer`.
    @param pointer A data contract made by `_write`.
    @return Bytes The blob.
    """
    return raw_call(pointer, b"", max_outsize=MAX_SIZE, is_static_call=True)




@internal
@pure
def _uint16(x: uint256) -> bytes2:
    """
    @dev `x` as two big-endian bytes; reverts above 65535.
    @param x The value.
    @return bytes2 Its encoding.
    """
    return convert(convert(x, uint16), bytes2)
