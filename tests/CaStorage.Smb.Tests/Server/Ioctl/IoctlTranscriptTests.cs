using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Server.Handlers;

namespace CaStorage.Smb.Tests.Server.Ioctl;

/// <summary>FSCTLs end to end over an in-memory connection, the cases smb2.ioctl.* relies on.</summary>
public sealed class IoctlTranscriptTests : IDisposable
{
    private const uint SparseAttribute = 0x200;
    private readonly TestServer _server = new();

    public void Dispose() => _server.Dispose();

    private Task<TestSmbClient> LoggedOnAsync() => _server.LoggedOnAsync(0x0311);

    private static async Task<byte[]> CreateAsync(TestSmbClient c, string name, AccessMask access = AccessMask.FileAllAccess,
        CreateOptions options = CreateOptions.None)
    {
        var (r, fid) = await c.CreateAsync(name, access, options: options);
        Assert.Equal(NtStatus.Success, r.Status);
        return fid;
    }

    private static async Task<byte[]> FilledAsync(TestSmbClient c, string name, int size, AccessMask access = AccessMask.FileAllAccess)
    {
        var fid = await CreateAsync(c, name);
        var data = new byte[size];
        for (var i = 0; i < size; i++) data[i] = (byte)(i * 7 + 1);
        Assert.Equal(NtStatus.Success, (await c.WriteAsync(fid, 0, data)).Status);
        if (access == AccessMask.FileAllAccess) return fid;
        await c.CloseAsync(fid);
        return await CreateAsync(c, name, access);
    }

    private static async Task<uint> AttributesAsync(TestSmbClient c, byte[] fid)
    {
        var q = await c.QueryInfoAsync(fid, 1, 4); // FileBasicInformation
        Assert.Equal(NtStatus.Success, q.Status);
        var off = BinaryPrimitives.ReadUInt16LittleEndian(q.Body[2..]);
        return BinaryPrimitives.ReadUInt32LittleEndian(q.Message.AsSpan(off + 32));
    }

    private static byte[] Range(long offset, long length)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(b, offset);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), length);
        return b;
    }

    private static (long Offset, long Length)[] Ranges(TestSmbClient.Response r)
    {
        var o = TestSmbClient.IoctlOutput(r);
        Assert.Equal(0, o.Length % 16);
        return [.. Enumerable.Range(0, o.Length / 16).Select(i =>
            (BinaryPrimitives.ReadInt64LittleEndian(o.AsSpan(i * 16)), BinaryPrimitives.ReadInt64LittleEndian(o.AsSpan(i * 16 + 8))))];
    }

    private static async Task<byte[]> ResumeKeyAsync(TestSmbClient c, byte[] fid)
    {
        var r = await c.IoctlAsync(fid, IoctlHandler.FsctlSrvRequestResumeKey, maxOutput: 32);
        Assert.Equal(NtStatus.Success, r.Status);
        return TestSmbClient.IoctlOutput(r)[..24];
    }

    private static byte[] CopyRequest(byte[] key, params (long Source, long Target, uint Length)[] chunks)
    {
        var b = new byte[32 + chunks.Length * 24];
        key.CopyTo(b, 0);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), chunks.Length);
        for (var i = 0; i < chunks.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(32 + i * 24), chunks[i].Source);
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(40 + i * 24), chunks[i].Target);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(48 + i * 24), chunks[i].Length);
        }
        return b;
    }

    private static (uint Chunks, uint ChunkBytes, uint Total) CopyResponse(TestSmbClient.Response r)
    {
        var o = TestSmbClient.IoctlOutput(r);
        Assert.Equal(12, o.Length);
        return (BinaryPrimitives.ReadUInt32LittleEndian(o), BinaryPrimitives.ReadUInt32LittleEndian(o.AsSpan(4)), BinaryPrimitives.ReadUInt32LittleEndian(o.AsSpan(8)));
    }

    // ------------------------------------------------------------ copy chunk

    [Fact]
    public async Task CopyChunk_Success_ChunkBytesWrittenIsZero()
    {
        var c = await LoggedOnAsync();
        var src = await FilledAsync(c, "src.bin", 8192);
        var dst = await CreateAsync(c, "dst.bin");
        var r = await c.IoctlAsync(dst, IoctlHandler.FsctlSrvCopyChunk, CopyRequest(await ResumeKeyAsync(c, src), (0, 0, 4096), (4096, 4096, 4096)), 12);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal((2u, 0u, 8192u), CopyResponse(r));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_server.Root, "src.bin")), File.ReadAllBytes(Path.Combine(_server.Root, "dst.bin")));
    }

    [Fact]
    public async Task CopyChunk_PastSourceEnd_InvalidViewSize_WithCountsSoFar()
    {
        var c = await LoggedOnAsync();
        var src = await FilledAsync(c, "src.bin", 8192);
        var dst = await CreateAsync(c, "dst.bin");
        var r = await c.IoctlAsync(dst, IoctlHandler.FsctlSrvCopyChunk, CopyRequest(await ResumeKeyAsync(c, src), (0, 0, 4096), (4096, 4096, 8192)), 12);
        Assert.Equal(NtStatus.InvalidViewSize, r.Status);
        Assert.Equal((1u, 0u, 4096u), CopyResponse(r));
        Assert.Equal(4096, new FileInfo(Path.Combine(_server.Root, "dst.bin")).Length); // nothing of the failed chunk
    }

    [Fact]
    public async Task CopyChunk_OverLimits_InvalidParameter_WithTheLimits()
    {
        var c = await LoggedOnAsync();
        var src = await FilledAsync(c, "src.bin", 16);
        var dst = await CreateAsync(c, "dst.bin");
        var r = await c.IoctlAsync(dst, IoctlHandler.FsctlSrvCopyChunk, CopyRequest(await ResumeKeyAsync(c, src), (0, 0, uint.MaxValue)), 12);
        Assert.Equal(NtStatus.InvalidParameter, r.Status);
        Assert.Equal((256u, 1024u * 1024, 16u * 1024 * 1024), CopyResponse(r));
    }

    [Fact]
    public async Task CopyChunk_SmallMaxOutput_Or_BadKey()
    {
        var c = await LoggedOnAsync();
        var src = await FilledAsync(c, "src.bin", 16);
        var dst = await CreateAsync(c, "dst.bin");
        var key = await ResumeKeyAsync(c, src);
        var small = await c.IoctlAsync(dst, IoctlHandler.FsctlSrvCopyChunk, CopyRequest(key, (0, 0, 16)), 11);
        Assert.Equal(NtStatus.InvalidParameter, small.Status);
        Assert.Empty(TestSmbClient.IoctlOutput(small));
        key[0] ^= 0x55;
        var bad = await c.IoctlAsync(dst, IoctlHandler.FsctlSrvCopyChunk, CopyRequest(key, (0, 0, 16)), 12);
        Assert.Equal(NtStatus.ObjectNameNotFound, bad.Status);
        Assert.Equal((0u, 0u, 0u), CopyResponse(bad));
    }

    [Theory]
    [InlineData(AccessMask.FileReadData | AccessMask.FileReadAttributes, AccessMask.FileAllAccess, IoctlHandler.FsctlSrvCopyChunk, NtStatus.Success)]
    [InlineData(AccessMask.FileExecute | AccessMask.FileReadAttributes, AccessMask.FileAllAccess, IoctlHandler.FsctlSrvCopyChunk, NtStatus.Success)]
    [InlineData(AccessMask.FileReadAttributes, AccessMask.FileAllAccess, IoctlHandler.FsctlSrvCopyChunk, NtStatus.AccessDenied)]
    [InlineData(AccessMask.FileReadData, AccessMask.FileAllAccess & ~(AccessMask.FileWriteData | AccessMask.FileAppendData), IoctlHandler.FsctlSrvCopyChunk, NtStatus.AccessDenied)]
    [InlineData(AccessMask.FileReadData, AccessMask.FileAllAccess & ~AccessMask.FileReadData, IoctlHandler.FsctlSrvCopyChunk, NtStatus.AccessDenied)]
    [InlineData(AccessMask.FileReadData, AccessMask.FileAllAccess & ~AccessMask.FileReadData, IoctlHandler.FsctlSrvCopyChunkWrite, NtStatus.Success)]
    public async Task CopyChunk_AccessRules(AccessMask source, AccessMask target, uint code, NtStatus expected)
    {
        var c = await LoggedOnAsync();
        var src = await FilledAsync(c, "src.bin", 4096, source);
        var dst = await FilledAsync(c, "dst.bin", 8, target);
        var r = await c.IoctlAsync(dst, code, CopyRequest(await ResumeKeyAsync(c, src), (0, 0, 4096)), 12);
        Assert.Equal(expected, r.Status);
    }

    // ------------------------------------------------------------ sparse

    [Fact]
    public async Task SetSparse_ShowsInBasicInformation_NoBufferSets_ZeroClears()
    {
        var c = await LoggedOnAsync();
        var f = await CreateAsync(c, "s.bin");
        Assert.Equal(0u, await AttributesAsync(c, f) & SparseAttribute);
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(f, IoctlHandler.FsctlSetSparse, maxOutput: 0)).Status);
        Assert.Equal(SparseAttribute, await AttributesAsync(c, f) & SparseAttribute);
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(f, IoctlHandler.FsctlSetSparse, [0], 0)).Status);
        Assert.Equal(0u, await AttributesAsync(c, f) & SparseAttribute);
    }

    [Fact]
    public async Task SetSparse_Directory_InvalidParameter_WriteEaOnly_AccessDenied()
    {
        var c = await LoggedOnAsync();
        var d = await CreateAsync(c, "dir", options: CreateOptions.DirectoryFile);
        Assert.Equal(NtStatus.InvalidParameter, (await c.IoctlAsync(d, IoctlHandler.FsctlSetSparse, [1], 0)).Status);
        var f = await FilledAsync(c, "f.bin", 8, AccessMask.FileWriteEa);
        Assert.Equal(NtStatus.AccessDenied, (await c.IoctlAsync(f, IoctlHandler.FsctlSetSparse, [1], 0)).Status);
        var w = await FilledAsync(c, "g.bin", 8, AccessMask.FileWriteAttributes);
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(w, IoctlHandler.FsctlSetSparse, [1], 0)).Status);
    }

    [Fact]
    public async Task QueryAllocatedRanges_Sparse_AfterZeroData_BufferRules()
    {
        var c = await LoggedOnAsync();
        var f = await FilledAsync(c, "q.bin", 3 * 65536);
        // Not sparse: the whole range, clipped to the end of file.
        var whole = await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, Range(1, 1 << 20), 1024);
        Assert.Equal(NtStatus.Success, whole.Status);
        Assert.Equal([(1L, 3 * 65536 - 1L)], Ranges(whole));

        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(f, IoctlHandler.FsctlSetSparse, [1], 0)).Status);
        var zero = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(zero, 65536);
        BinaryPrimitives.WriteInt64LittleEndian(zero.AsSpan(8), 2 * 65536);
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(f, IoctlHandler.FsctlSetZeroData, zero, 0)).Status);

        var two = await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, Range(0, 3 * 65536), 1024);
        Assert.Equal(NtStatus.Success, two.Status);
        Assert.Equal([(0L, 65536L), (2 * 65536L, 65536L)], Ranges(two));
        var one = await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, Range(0, 3 * 65536), 16);
        Assert.Equal(NtStatus.BufferOverflow, one.Status);
        Assert.Equal([(0L, 65536L)], Ranges(one));
        Assert.Equal(NtStatus.BufferTooSmall, (await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, Range(0, 3 * 65536), 0)).Status);
        // No range to report needs no room.
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, Range(65536, 65536), 0)).Status);
    }

    [Theory]
    [InlineData(512L, -1L)]   // offset + length wraps (smb2.ioctl.sparse_qar_overflow)
    [InlineData(-1L, 10L)]
    public async Task QueryAllocatedRanges_BadInput_InvalidParameter(long offset, long length)
    {
        var c = await LoggedOnAsync();
        var f = await FilledAsync(c, "q.bin", 1024);
        Assert.Equal(NtStatus.InvalidParameter, (await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, Range(offset, length), 1024)).Status);
        Assert.Equal(NtStatus.InvalidParameter, (await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, [], 1024)).Status);
    }

    [Fact]
    public async Task QueryAllocatedRanges_NeedsReadData()
    {
        var c = await LoggedOnAsync();
        var f = await FilledAsync(c, "q.bin", 1024, AccessMask.FileReadAttributes | AccessMask.FileExecute);
        Assert.Equal(NtStatus.AccessDenied, (await c.IoctlAsync(f, IoctlHandler.FsctlQueryAllocatedRanges, Range(0, 10), 1024)).Status);
    }

    [Fact]
    public async Task SetZeroData_Rules()
    {
        var c = await LoggedOnAsync();
        var f = await FilledAsync(c, "z.bin", 4096);
        var bad = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(bad, 4096);
        BinaryPrimitives.WriteInt64LittleEndian(bad.AsSpan(8), 4095);
        Assert.Equal(NtStatus.InvalidParameter, (await c.IoctlAsync(f, IoctlHandler.FsctlSetZeroData, bad, 0)).Status);
        Assert.Equal(NtStatus.InvalidParameter, (await c.IoctlAsync(f, IoctlHandler.FsctlSetZeroData, bad[..15], 0)).Status);
        var past = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(past, 8192);
        BinaryPrimitives.WriteInt64LittleEndian(past.AsSpan(8), 8200);
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(f, IoctlHandler.FsctlSetZeroData, past, 0)).Status);
        Assert.Equal(4096, new FileInfo(Path.Combine(_server.Root, "z.bin")).Length);
        var append = await FilledAsync(c, "a.bin", 8, AccessMask.FileAppendData);
        Assert.Equal(NtStatus.AccessDenied, (await c.IoctlAsync(append, IoctlHandler.FsctlSetZeroData, past, 0)).Status);
    }

    // ------------------------------------------------------------ compression, handle-less FSCTLs

    [Fact]
    public async Task Compression_NoneOnly()
    {
        var c = await LoggedOnAsync();
        var f = await CreateAsync(c, "c.bin");
        var get = await c.IoctlAsync(f, IoctlHandler.FsctlGetCompression, maxOutput: 2);
        Assert.Equal(NtStatus.Success, get.Status);
        Assert.Equal([0, 0], TestSmbClient.IoctlOutput(get));
        Assert.Equal(NtStatus.NotSupported, (await c.IoctlAsync(f, IoctlHandler.FsctlSetCompression, [1, 0], 0)).Status);
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(f, IoctlHandler.FsctlSetCompression, [0, 0], 0)).Status);
    }

    [Fact]
    public async Task HandleLessFsctl_WithAFileId_InvalidParameter()
    {
        var c = await LoggedOnAsync();
        var f = await CreateAsync(c, "n.bin");
        Assert.Equal(NtStatus.InvalidParameter, (await c.IoctlAsync(f, IoctlHandler.FsctlQueryNetworkInterfaceInfo)).Status);
        Assert.Equal(NtStatus.Success, (await c.IoctlAsync(TestSmbClient.NoFileId, IoctlHandler.FsctlQueryNetworkInterfaceInfo)).Status);
        Assert.Equal(NtStatus.InvalidParameter, (await c.IoctlAsync(TestSmbClient.NoFileId, IoctlHandler.FsctlQueryNetworkInterfaceInfo, [1])).Status);
    }
}
