using System.Buffers.Binary;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>One chunk of SRV_COPYCHUNK_COPY (MS-SMB2 2.2.31.1.1). Offsets are unsigned on the wire.</summary>
internal readonly record struct CopyChunkRange(ulong SourceOffset, ulong TargetOffset, uint Length);

/// <summary>
/// SRV_COPYCHUNK_COPY (MS-SMB2 2.2.31.1), the input of FSCTL_SRV_COPYCHUNK(_WRITE):
/// <code>
///  0  SourceKey (24)   the resume key of FSCTL_SRV_REQUEST_RESUME_KEY; ours is an 8-byte token then zeros
/// 24  ChunkCount (4)
/// 28  Reserved (4)
/// 32  Chunks: ChunkCount × { SourceOffset (8), TargetOffset (8), Length (4), Reserved (4) }
/// </code>
/// Trailing bytes after the last chunk are ignored (Samba's NDR pull does the same).
/// </summary>
internal sealed record CopyChunkCopy(ulong ResumeKey, IReadOnlyList<CopyChunkRange> Chunks)
{
    public const int HeaderSize = 32, ChunkSize = 24;

    public static bool TryDecode(ReadOnlySpan<byte> input, out CopyChunkCopy request)
    {
        request = null!;
        if (input.Length < HeaderSize) return false;
        var count = BinaryPrimitives.ReadUInt32LittleEndian(input[24..]);
        if ((ulong)input.Length < HeaderSize + (ulong)count * ChunkSize) return false;
        var chunks = new CopyChunkRange[count];
        for (var i = 0; i < chunks.Length; i++)
        {
            var c = input.Slice(HeaderSize + i * ChunkSize, ChunkSize);
            chunks[i] = new CopyChunkRange(
                BinaryPrimitives.ReadUInt64LittleEndian(c),
                BinaryPrimitives.ReadUInt64LittleEndian(c[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(c[16..]));
        }
        request = new CopyChunkCopy(BinaryPrimitives.ReadUInt64LittleEndian(input), chunks);
        return true;
    }
}

/// <summary>
/// SRV_COPYCHUNK_RESPONSE (MS-SMB2 2.2.32.1): ChunksWritten, ChunkBytesWritten, TotalBytesWritten. After a copy
/// ChunkBytesWritten is 0 (no chunk is ever partly written); when the request exceeded the limits the three fields
/// carry the server's limits instead.
/// </summary>
internal readonly record struct CopyChunkResponse(uint ChunksWritten, uint ChunkBytesWritten, uint TotalBytesWritten)
{
    public const int Size = 12;

    public void Write(ResponseBuffer o)
    {
        o.U32(ChunksWritten);
        o.U32(ChunkBytesWritten);
        o.U32(TotalBytesWritten);
    }
}

/// <summary>
/// FILE_ALLOCATED_RANGE_BUFFER (MS-FSCC 2.3.41): FileOffset (8), Length (8), both signed. The input of
/// FSCTL_QUERY_ALLOCATED_RANGES and each element of its output.
/// </summary>
internal readonly record struct AllocatedRangeBuffer(long FileOffset, long Length)
{
    public const int Size = 16;

    public static bool TryDecode(ReadOnlySpan<byte> input, out AllocatedRangeBuffer range)
    {
        range = default;
        if (input.Length < Size) return false;
        range = new AllocatedRangeBuffer(BinaryPrimitives.ReadInt64LittleEndian(input), BinaryPrimitives.ReadInt64LittleEndian(input[8..]));
        return true;
    }

    public void Write(ResponseBuffer o)
    {
        o.I64(FileOffset);
        o.I64(Length);
    }
}

/// <summary>FILE_ZERO_DATA_INFORMATION (MS-FSCC 2.3.67): FileOffset (8), BeyondFinalZero (8), both signed.</summary>
internal readonly record struct ZeroDataInformation(long FileOffset, long BeyondFinalZero)
{
    public const int Size = 16;

    public static bool TryDecode(ReadOnlySpan<byte> input, out ZeroDataInformation info)
    {
        info = default;
        if (input.Length < Size) return false;
        info = new ZeroDataInformation(BinaryPrimitives.ReadInt64LittleEndian(input), BinaryPrimitives.ReadInt64LittleEndian(input[8..]));
        return true;
    }
}

/// <summary>FILE_SET_SPARSE_BUFFER (MS-FSCC 2.3.64): an optional SetSparse byte; no buffer means "set".</summary>
internal static class SetSparseBuffer
{
    public static bool Decode(ReadOnlySpan<byte> input) => input.IsEmpty || input[0] != 0;
}

/// <summary>COMPRESSION_STATE (MS-FSCC 2.3.12/2.3.61): CompressionState (2).</summary>
internal static class CompressionState
{
    public const int Size = 2;
    public const ushort FormatNone = 0, FormatDefault = 1, FormatLznt1 = 2;

    public static bool TryDecode(ReadOnlySpan<byte> input, out ushort format)
    {
        format = 0;
        if (input.Length < Size) return false;
        format = BinaryPrimitives.ReadUInt16LittleEndian(input);
        return true;
    }
}
