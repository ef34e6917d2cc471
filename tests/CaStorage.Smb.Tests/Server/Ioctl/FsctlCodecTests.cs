using CaStorage.Smb.Protocol;
using CaStorage.Smb.Server.Handlers;

namespace CaStorage.Smb.Tests.Server.Ioctl;

/// <summary>The FSCTL buffers of MS-SMB2 2.2.31/2.2.32 and MS-FSCC 2.3: golden bytes, round trips, truncation.</summary>
public sealed class FsctlCodecTests
{
    // SRV_COPYCHUNK_COPY as smbtorture's ndr_push_srv_copychunk_copy sends it: key, 2 chunks.
    private static readonly byte[] CopyChunkGolden = Convert.FromHexString(
        "1122334455667788" + "0102030405060708" + "0000000000000000" + // SourceKey (24)
        "02000000" + "00000000" +                                      // ChunkCount, Reserved
        "0000000000000000" + "0010000000000000" + "00100000" + "00000000" + // 0 -> 4096, 4096 bytes
        "0010000000000000" + "0000000000000000" + "30000000" + "00000000"); // 4096 -> 0, 48 bytes

    [Fact]
    public void CopyChunkCopy_Golden_Decodes()
    {
        Assert.True(CopyChunkCopy.TryDecode(CopyChunkGolden, out var r));
        Assert.Equal(0x8877665544332211UL, r.ResumeKey);
        Assert.Equal([new CopyChunkRange(0, 4096, 4096), new CopyChunkRange(4096, 0, 48)], r.Chunks);
    }

    [Fact]
    public void CopyChunkCopy_TrailingBytes_Ignored_AtAnyOffset()
    {
        var padded = new byte[CopyChunkGolden.Length + 7];
        CopyChunkGolden.CopyTo(padded, 0);
        Assert.True(CopyChunkCopy.TryDecode(padded, out var r));
        Assert.Equal(2, r.Chunks.Count);
        var shifted = new byte[CopyChunkGolden.Length + 5];
        CopyChunkGolden.CopyTo(shifted, 5);
        Assert.True(CopyChunkCopy.TryDecode(shifted.AsSpan(5), out var r2));
        Assert.Equal(r.Chunks, r2.Chunks);
    }

    [Fact]
    public void CopyChunkCopy_TruncatedAtEveryByte_Fails()
    {
        for (var n = 0; n < CopyChunkGolden.Length; n++)
            Assert.False(CopyChunkCopy.TryDecode(CopyChunkGolden.AsSpan(0, n), out _), $"length {n}");
    }

    [Fact]
    public void CopyChunkCopy_HugeChunkCount_FailsWithoutAllocating()
    {
        var b = (byte[])CopyChunkGolden.Clone();
        b[24] = b[25] = b[26] = b[27] = 0xFF;
        Assert.False(CopyChunkCopy.TryDecode(b, out _));
    }

    [Fact]
    public void CopyChunkCopy_ZeroChunks_Decodes()
    {
        var b = CopyChunkGolden[..32];
        b[24] = 0;
        Assert.True(CopyChunkCopy.TryDecode(b, out var r));
        Assert.Empty(r.Chunks);
    }

    [Theory]
    [InlineData(1, 4096u, true)]
    [InlineData(256, 4096u, true)]
    [InlineData(257, 4096u, false)]              // more than ServerSideCopyMaxNumberofChunks
    [InlineData(1, 1024u * 1024, true)]
    [InlineData(1, 1024u * 1024 + 1, false)]     // a chunk above ServerSideCopyMaxChunkSize
    [InlineData(1, 0u, false)]                   // a zero-length chunk
    [InlineData(16, 1024u * 1024, true)]         // exactly ServerSideCopyMaxDataSize
    [InlineData(17, 1024u * 1024, false)]
    public void CopyLimits(int chunks, uint length, bool within)
    {
        var request = new CopyChunkCopy(1, [.. Enumerable.Range(0, chunks).Select(i => new CopyChunkRange((ulong)i, 0, length))]);
        Assert.Equal(within, IoctlHandler.WithinCopyLimits(request));
    }

    [Fact]
    public void CopyChunkResponse_Golden()
    {
        using var o = new ResponseBuffer();
        new CopyChunkResponse(1, 0, 4096).Write(o);
        Assert.Equal(Convert.FromHexString("01000000" + "00000000" + "00100000"), o.Span.ToArray());
        Assert.Equal(CopyChunkResponse.Size, o.Length);
    }

    [Fact]
    public void AllocatedRangeBuffer_RoundTrip_Truncation_Signedness()
    {
        using var o = new ResponseBuffer();
        new AllocatedRangeBuffer(512, 65536).Write(o);
        var bytes = o.Span.ToArray();
        Assert.Equal(Convert.FromHexString("0002000000000000" + "0000010000000000"), bytes);
        Assert.True(AllocatedRangeBuffer.TryDecode(bytes, out var r));
        Assert.Equal(new AllocatedRangeBuffer(512, 65536), r);
        for (var n = 0; n < bytes.Length; n++) Assert.False(AllocatedRangeBuffer.TryDecode(bytes.AsSpan(0, n), out _));
        // smb2.ioctl.sparse_qar_overflow sends Length 0xFFFFFFFFFFFFFFFF: signed, that is -1.
        Assert.True(AllocatedRangeBuffer.TryDecode(Convert.FromHexString("0002000000000000" + "FFFFFFFFFFFFFFFF"), out var overflow));
        Assert.Equal(-1, overflow.Length);
    }

    [Fact]
    public void ZeroDataInformation_Decode_Truncation()
    {
        var bytes = Convert.FromHexString("0010000000000000" + "0810000000000000");
        Assert.True(ZeroDataInformation.TryDecode(bytes, out var z));
        Assert.Equal(new ZeroDataInformation(4096, 4104), z);
        for (var n = 0; n < bytes.Length; n++) Assert.False(ZeroDataInformation.TryDecode(bytes.AsSpan(0, n), out _));
    }

    [Theory]
    [InlineData("", true)]      // no FILE_SET_SPARSE_BUFFER: set
    [InlineData("FF", true)]
    [InlineData("01", true)]
    [InlineData("00", false)]
    [InlineData("0001", false)] // only the first byte counts (smb2.ioctl.sparse_set_oversize)
    public void SetSparseBuffer_Decode(string hex, bool sparse) => Assert.Equal(sparse, SetSparseBuffer.Decode(Convert.FromHexString(hex)));

    [Fact]
    public void CompressionState_Decode()
    {
        Assert.True(CompressionState.TryDecode(Convert.FromHexString("0200"), out var f));
        Assert.Equal(CompressionState.FormatLznt1, f);
        Assert.False(CompressionState.TryDecode(Convert.FromHexString("02"), out _));
    }
}
