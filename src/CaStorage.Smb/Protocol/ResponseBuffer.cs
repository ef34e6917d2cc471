using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace CaStorage.Smb.Protocol;

/// <summary>
/// A growable pooled buffer holding one or more SMB2 responses (a compound) being built.
/// Positions are absolute within the buffer; each message starts 8-byte aligned.
/// </summary>
internal sealed class ResponseBuffer : IDisposable
{
    private byte[] _buf;

    public ResponseBuffer(int capacity = 1024) => _buf = ArrayPool<byte>.Shared.Rent(capacity);

    public int Length { get; private set; }
    /// <summary>
    /// Position that <see cref="Align"/> counts from: the start of the first SMB2 message once the Direct TCP header
    /// has been reserved, so message-relative alignment (MS-SMB2 NextCommand, contexts, entries) holds.
    /// </summary>
    public int AlignmentOrigin { get; set; }
    public byte[] Array => _buf;
    public Span<byte> Span => _buf.AsSpan(0, Length);

    public void Ensure(int total)
    {
        if (total <= _buf.Length) return;
        var n = ArrayPool<byte>.Shared.Rent(Math.Max(total, _buf.Length * 2));
        _buf.AsSpan(0, Length).CopyTo(n);
        ArrayPool<byte>.Shared.Return(_buf);
        _buf = n;
    }

    /// <summary>Reserves count zeroed bytes and returns their span.</summary>
    public Span<byte> Reserve(int count)
    {
        Ensure(Length + count);
        var s = _buf.AsSpan(Length, count);
        s.Clear();
        Length += count;
        return s;
    }

    public void SetLength(int length) { Ensure(length); if (length > Length) _buf.AsSpan(Length, length - Length).Clear(); Length = length; }

    /// <summary>Commits count bytes already written directly into <see cref="Array"/> after <see cref="Length"/> (no clearing).</summary>
    public void Advance(int count) { Ensure(Length + count); Length += count; }

    public void Align(int alignment) { var pad = (alignment - ((Length - AlignmentOrigin) % alignment)) % alignment; if (pad > 0) Reserve(pad); }

    public void U8(byte v) => Reserve(1)[0] = v;
    public void U16(ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), v);
    public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), v);
    public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), v);
    public void I64(long v) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), v);
    public void Bytes(ReadOnlySpan<byte> b) => b.CopyTo(Reserve(b.Length));
    public void Guid(Guid g) => g.TryWriteBytes(Reserve(16));
    /// <summary>UTF-16LE without terminator; returns the byte count.</summary>
    public int Utf16(string s) { var n = Encoding.Unicode.GetByteCount(s); Encoding.Unicode.GetBytes(s, Reserve(n)); return n; }

    public void PutU16(int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(at), v);
    public void PutU32(int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(at), v);
    public void PutU64(int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(_buf.AsSpan(at), v);

    /// <summary>Gives up ownership of the array (it was handed to the connection's writer).</summary>
    public void Detach() => _buf = null!;

    public void Dispose()
    {
        var b = Interlocked.Exchange(ref _buf, null!);
        if (b is not null) ArrayPool<byte>.Shared.Return(b);
    }
}
