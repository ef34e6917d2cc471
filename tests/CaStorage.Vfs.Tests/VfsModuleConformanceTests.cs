using System.Text;
using CaStorage.Core;
using CaStorage.Core.Security;
using CaStorage.Vfs.Posix;
using CaStorage.Vfs.Tests.Support;

namespace CaStorage.Vfs.Tests;

/// <summary>
/// Behaviour every stack ending in posix must keep, whatever transparent modules sit above it.
/// One thin subclass per stack (posix, audit+posix, recycle+posix).
/// </summary>
public abstract class VfsModuleConformanceTests : IAsyncLifetime
{
    private readonly List<VfsFile> _open = [];

    protected abstract IReadOnlyList<string> Modules { get; }
    protected virtual IReadOnlyDictionary<string, string> Options => new Dictionary<string, string>();

    protected TempShare Share { get; private set; } = null!;
    protected VfsTreeContext Tree { get; private set; } = null!;
    protected IVfsOperations Ops => Tree.Ops;
    protected static CancellationToken Ct => CancellationToken.None;

    public async Task InitializeAsync()
    {
        Share = TempShare.Create();
        Tree = await TempShare.ConnectAsync(Share.Build(Modules, Options));
    }

    public async Task DisposeAsync()
    {
        foreach (var f in _open) await Ops.CloseAsync(f);
        await Tree.DisposeAsync();
        await Share.DisposeAsync();
    }

    private async Task<VfsResult<VfsOpenResult>> Open(string path, CreateDisposition disposition,
        CreateOptions options = CreateOptions.None, AccessMask access = AccessMask.FileGenericRead | AccessMask.FileGenericWrite,
        NtFileAttributes attributes = NtFileAttributes.None)
    {
        var r = await Tree.OpenAsync(path, disposition, options, access, attributes);
        if (r.IsSuccess) _open.Add(r.Value!.File);
        return r;
    }

    private async Task<VfsFile> OpenOk(string path, CreateDisposition disposition = CreateDisposition.Open,
        CreateOptions options = CreateOptions.None, AccessMask access = AccessMask.FileGenericRead | AccessMask.FileGenericWrite,
        NtFileAttributes attributes = NtFileAttributes.None)
    {
        var r = await Open(path, disposition, options, access, attributes);
        Assert.True(r.IsSuccess, $"open {path}: {r.Status.ToWireName()}");
        return r.Value!.File;
    }

    private async Task Close(VfsFile f)
    {
        _open.Remove(f);
        await Ops.CloseAsync(f);
    }

    private static ulong Inode(string path)
    {
        Assert.Equal(0, LibC.Statx(LibC.AT_FDCWD, path, LibC.AT_SYMLINK_NOFOLLOW, out var st));
        return st.Inode;
    }

    // ------------------------------------------------------------ stack

    [Fact]
    public void Stack_SupportsDurableReopen() => Assert.True(Tree.Stack.SupportsDurableReopen);

    [Fact]
    public async Task FsInfo_ReportsSizesAndLabel()
    {
        var r = await Ops.GetFsInfoAsync(Tree, Ct);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.True(r.Value!.TotalBytes > 0);
        Assert.True(r.Value.FreeBytes >= r.Value.AvailableBytes);
        Assert.Equal("share", r.Value.VolumeLabel);
        Assert.Equal(512, r.Value.BytesPerSector);
    }

    // ------------------------------------------------------------ create dispositions

    [Fact]
    public async Task Create_NewFile_ReportsCreated_WithArchive()
    {
        var r = await Open("new.txt", CreateDisposition.Create, CreateOptions.NonDirectoryFile);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(CreateAction.Created, r.Value!.Action);
        Assert.False(r.Value.File.IsDirectory);
        Assert.Equal("new.txt", r.Value.File.Path);
        var info = await Ops.FstatAsync(r.Value.File, Ct);
        Assert.Equal(NtFileAttributes.Archive, info.Value!.Attributes);
        Assert.Equal(0, info.Value.EndOfFile);
        Assert.True(File.Exists(Share.InRoot("new.txt")));
    }

    [Fact]
    public async Task Create_ExistingFile_ObjectNameCollision()
    {
        await Tree.CreateFileAsync("a.txt", "x");
        var r = await Open("a.txt", CreateDisposition.Create);
        Assert.Equal(NtStatus.ObjectNameCollision, r.Status);
    }

    [Fact]
    public async Task Create_ExistingDirectory_ObjectNameCollision()
    {
        await Tree.CreateDirectoryAsync("d");
        Assert.Equal(NtStatus.ObjectNameCollision, (await Open("d", CreateDisposition.Create, CreateOptions.DirectoryFile)).Status);
        Assert.Equal(NtStatus.ObjectNameCollision, (await Open("d", CreateDisposition.Create)).Status);
    }

    [Fact]
    public async Task Open_Missing_ObjectNameNotFound()
    {
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Open("missing.txt", CreateDisposition.Open)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Open("missing.txt", CreateDisposition.Overwrite)).Status);
    }

    [Theory]
    [InlineData(CreateDisposition.Open)]
    [InlineData(CreateDisposition.Create)]
    [InlineData(CreateDisposition.OpenIf)]
    [InlineData(CreateDisposition.Overwrite)]
    [InlineData(CreateDisposition.OverwriteIf)]
    [InlineData(CreateDisposition.Supersede)]
    public async Task AnyDisposition_MissingParent_ObjectPathNotFound(CreateDisposition disposition)
    {
        Assert.Equal(NtStatus.ObjectPathNotFound, (await Open("nodir\\file.txt", disposition)).Status);
        Assert.False(Directory.Exists(Share.InRoot("nodir")));
    }

    [Fact]
    public async Task Open_FileUsedAsDirectory_ObjectPathNotFound()
    {
        await Tree.CreateFileAsync("f.txt");
        Assert.Equal(NtStatus.ObjectPathNotFound, (await Open("f.txt\\x", CreateDisposition.OpenIf)).Status);
    }

    [Fact]
    public async Task OpenIf_Missing_Creates_ThenOpens()
    {
        var first = await Open("oi.txt", CreateDisposition.OpenIf);
        Assert.Equal(CreateAction.Created, first.Value!.Action);
        var second = await Open("oi.txt", CreateDisposition.OpenIf);
        Assert.Equal(CreateAction.Opened, second.Value!.Action);
        Assert.Equal(first.Value.File.FileId, second.Value.File.FileId);
    }

    [Theory]
    [InlineData(CreateDisposition.Overwrite, CreateAction.Overwritten)]
    [InlineData(CreateDisposition.OverwriteIf, CreateAction.Overwritten)]
    [InlineData(CreateDisposition.Supersede, CreateAction.Superseded)]
    public async Task OverwriteDispositions_Existing_ReportAction_ButDoNotTruncate(CreateDisposition disposition, CreateAction expected)
    {
        await Tree.CreateFileAsync("o.txt", "hello");
        var r = await Open("o.txt", disposition);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(expected, r.Value!.Action);
        Assert.Equal(5, new FileInfo(Share.InRoot("o.txt")).Length);
        // ... and the caller can truncate through the handle it got.
        Assert.Equal(NtStatus.Success, await Ops.SetEndOfFileAsync(r.Value.File, 0, Ct));
        Assert.Equal(0, new FileInfo(Share.InRoot("o.txt")).Length);
    }

    [Theory]
    [InlineData(CreateDisposition.OverwriteIf)]
    [InlineData(CreateDisposition.Supersede)]
    public async Task OverwriteIfAndSupersede_Missing_Created(CreateDisposition disposition)
    {
        var r = await Open("fresh.txt", disposition);
        Assert.Equal(CreateAction.Created, r.Value!.Action);
    }

    [Fact]
    public async Task NonDirectoryFile_OnDirectory_FileIsADirectory()
    {
        await Tree.CreateDirectoryAsync("dir");
        Assert.Equal(NtStatus.FileIsADirectory, (await Open("dir", CreateDisposition.Open, CreateOptions.NonDirectoryFile)).Status);
        Assert.Equal(NtStatus.FileIsADirectory, (await Open("", CreateDisposition.Open, CreateOptions.NonDirectoryFile)).Status);
    }

    [Fact]
    public async Task DirectoryFile_OnFile_NotADirectory()
    {
        await Tree.CreateFileAsync("file.txt");
        Assert.Equal(NtStatus.NotADirectory, (await Open("file.txt", CreateDisposition.Open, CreateOptions.DirectoryFile)).Status);
        Assert.Equal(NtStatus.NotADirectory, (await Open("file.txt", CreateDisposition.OpenIf, CreateOptions.DirectoryFile)).Status);
    }

    [Fact]
    public async Task DirectoryAndNonDirectoryFile_Together_InvalidParameter() =>
        Assert.Equal(NtStatus.InvalidParameter,
            (await Open("x", CreateDisposition.OpenIf, CreateOptions.DirectoryFile | CreateOptions.NonDirectoryFile)).Status);

    [Fact]
    public async Task CreateDirectory_HasDirectoryAttribute_AndIsADirectory()
    {
        var r = await Open("newdir", CreateDisposition.Create, CreateOptions.DirectoryFile, AccessMask.FileGenericRead);
        Assert.Equal(CreateAction.Created, r.Value!.Action);
        Assert.True(r.Value.File.IsDirectory);
        var info = await Ops.FstatAsync(r.Value.File, Ct);
        Assert.Equal(NtFileAttributes.Directory, info.Value!.Attributes);
        Assert.Equal(0, info.Value.EndOfFile);
        Assert.Equal(0, info.Value.AllocationSize);
        Assert.True(Directory.Exists(Share.InRoot("newdir")));
    }

    [Theory]
    [InlineData(CreateDisposition.Overwrite)]
    [InlineData(CreateDisposition.OverwriteIf)]
    [InlineData(CreateDisposition.Supersede)]
    public async Task CreateDirectory_WithOverwriteDisposition_InvalidParameter(CreateDisposition disposition)
    {
        Assert.Equal(NtStatus.InvalidParameter, (await Open("dd", disposition, CreateOptions.DirectoryFile)).Status);
        Assert.False(Directory.Exists(Share.InRoot("dd")));
    }

    [Fact]
    public async Task OpenRoot_AsDirectory()
    {
        var root = await OpenOk("", CreateDisposition.Open, CreateOptions.DirectoryFile, AccessMask.FileGenericRead);
        Assert.True(root.IsDirectory);
        Assert.Equal("", root.Path);
        var info = await Ops.FstatAsync(root, Ct);
        Assert.Equal(NtFileAttributes.Directory, info.Value!.Attributes);
        Assert.Equal(Inode(Share.Root), root.FileId);
    }

    [Fact]
    public async Task OpenRoot_WithLeadingBackslash()
    {
        var root = await OpenOk("\\", CreateDisposition.Open, CreateOptions.DirectoryFile, AccessMask.FileGenericRead);
        Assert.True(root.IsDirectory);
    }

    [Fact]
    public async Task Create_WithRequestedAttributes_Persists()
    {
        var f = await OpenOk("h.txt", CreateDisposition.Create, attributes: NtFileAttributes.Hidden | NtFileAttributes.System);
        var info = await Ops.FstatAsync(f, Ct);
        Assert.Equal(NtFileAttributes.Hidden | NtFileAttributes.System | NtFileAttributes.Archive, info.Value!.Attributes);
    }

    // ------------------------------------------------------------ read-only and hidden attributes

    [Fact]
    public async Task ReadOnlyAttribute_OpenForWrite_AccessDenied_OpenForRead_Succeeds()
    {
        await Tree.CreateFileAsync("ro.txt", "data", NtFileAttributes.ReadOnly);
        Assert.Equal(NtStatus.AccessDenied, (await Open("ro.txt", CreateDisposition.Open, access: AccessMask.FileWriteData)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await Open("ro.txt", CreateDisposition.Open, access: AccessMask.GenericWrite)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await Open("ro.txt", CreateDisposition.Overwrite, access: AccessMask.FileGenericRead)).Status);
        Assert.Equal(NtStatus.CannotDelete,
            (await Open("ro.txt", CreateDisposition.Open, CreateOptions.DeleteOnClose, AccessMask.Delete | AccessMask.FileReadAttributes)).Status);
        var ok = await Open("ro.txt", CreateDisposition.Open, access: AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.Success, ok.Status);
        Assert.Equal("data", await Tree.ReadAllTextAsync(ok.Value!.File));
    }

    [Fact]
    public async Task Overwrite_HiddenFile_WithoutHidden_AccessDenied()
    {
        await Tree.CreateFileAsync("hid.txt", "x", NtFileAttributes.Hidden);
        Assert.Equal(NtStatus.AccessDenied, (await Open("hid.txt", CreateDisposition.Overwrite)).Status);
        Assert.Equal(NtStatus.Success, (await Open("hid.txt", CreateDisposition.Overwrite, attributes: NtFileAttributes.Hidden)).Status);
    }

    // ------------------------------------------------------------ data

    [Fact]
    public async Task WriteThenRead_RoundTrips()
    {
        var f = await OpenOk("data.bin", CreateDisposition.Create);
        var payload = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var w = await Ops.WriteAsync(f, 10, payload, writeThrough: false, Ct);
        Assert.Equal(payload.Length, w.Value);
        var buffer = new byte[payload.Length + 100];
        var r = await Ops.ReadAsync(f, 10, buffer, Ct);
        Assert.Equal(payload.Length, r.Value);
        Assert.Equal(payload, buffer[..payload.Length]);
        Assert.Equal(10 + payload.Length, (await Ops.FstatAsync(f, Ct)).Value!.EndOfFile);
    }

    [Fact]
    public async Task WriteThrough_Succeeds_AndFlushSucceeds()
    {
        var f = await OpenOk("wt.bin", CreateDisposition.Create, CreateOptions.WriteThrough);
        Assert.Equal(3, (await Ops.WriteAsync(f, 0, "abc"u8.ToArray(), writeThrough: true, Ct)).Value);
        Assert.Equal(NtStatus.Success, await Ops.FlushAsync(f, Ct));
        Assert.Equal("abc", File.ReadAllText(Share.InRoot("wt.bin")));
    }

    [Fact]
    public async Task Read_AtOrBeyondEndOfFile_ReturnsZeroBytes()
    {
        await Tree.CreateFileAsync("short.txt", "abc");
        var f = await OpenOk("short.txt");
        var buffer = new byte[10];
        Assert.Equal(0, (await Ops.ReadAsync(f, 3, buffer, Ct)).Value);
        Assert.Equal(0, (await Ops.ReadAsync(f, 1000, buffer, Ct)).Value);
    }

    [Fact]
    public async Task ReadWrite_OnDirectory_InvalidDeviceRequest()
    {
        await Tree.CreateDirectoryAsync("dir");
        var d = await OpenOk("dir", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.InvalidDeviceRequest, (await Ops.ReadAsync(d, 0, new byte[4], Ct)).Status);
        Assert.Equal(NtStatus.InvalidDeviceRequest, (await Ops.WriteAsync(d, 0, new byte[4], false, Ct)).Status);
    }

    [Fact]
    public async Task Write_OnHandleOpenedForReadOnly_AccessDenied()
    {
        await Tree.CreateFileAsync("r.txt", "abc");
        var f = await OpenOk("r.txt", access: AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.AccessDenied, (await Ops.WriteAsync(f, 0, new byte[1], false, Ct)).Status);
    }

    [Fact]
    public async Task SetEndOfFile_ExtendsAndTruncates()
    {
        var f = await OpenOk("eof.bin", CreateDisposition.Create);
        Assert.Equal(NtStatus.Success, await Ops.SetEndOfFileAsync(f, 4096, Ct));
        Assert.Equal(4096, (await Ops.FstatAsync(f, Ct)).Value!.EndOfFile);
        Assert.Equal(NtStatus.Success, await Ops.SetEndOfFileAsync(f, 10, Ct));
        Assert.Equal(10, new FileInfo(Share.InRoot("eof.bin")).Length);
        Assert.Equal(NtStatus.InvalidParameter, await Ops.SetEndOfFileAsync(f, -1, Ct));
    }

    [Fact]
    public async Task SetAllocationSize_BelowEndOfFile_Truncates_AboveKeepsEndOfFile()
    {
        var f = await OpenOk("alloc.bin", CreateDisposition.Create);
        await Ops.WriteAsync(f, 0, new byte[10_000], false, Ct);
        Assert.Equal(NtStatus.Success, await Ops.SetAllocationSizeAsync(f, 1 << 20, Ct));
        var info = (await Ops.FstatAsync(f, Ct)).Value!;
        Assert.Equal(10_000, info.EndOfFile);
        Assert.True(info.AllocationSize >= 10_000);
        Assert.Equal(NtStatus.Success, await Ops.SetAllocationSizeAsync(f, 100, Ct));
        Assert.Equal(100, (await Ops.FstatAsync(f, Ct)).Value!.EndOfFile);
    }

    [Fact]
    public async Task CopyRange_CopiesBytes_AndStopsAtEndOfSource()
    {
        await Tree.CreateFileAsync("src.txt", "0123456789");
        var src = await OpenOk("src.txt", access: AccessMask.FileGenericRead);
        var dst = await OpenOk("dst.txt", CreateDisposition.Create);
        var r = await Ops.CopyRangeAsync(src, 2, dst, 1, 5, Ct);
        Assert.Equal(5, r.Value);
        var tail = await Ops.CopyRangeAsync(src, 8, dst, 6, 100, Ct);
        Assert.Equal(2, tail.Value);
        var bytes = File.ReadAllBytes(Share.InRoot("dst.txt"));
        Assert.Equal("\0" + "23456" + "89", Encoding.ASCII.GetString(bytes));
    }

    // ------------------------------------------------------------ sparse files

    private async Task<VfsFile> WriteBlocksAsync(string path, params long[] offsets)
    {
        var f = await OpenOk(path, CreateDisposition.Create);
        var block = new byte[4096];
        Array.Fill(block, (byte)0x5A);
        foreach (var off in offsets) Assert.Equal(NtStatus.Success, (await Ops.WriteAsync(f, off, block, false, Ct)).Status);
        return f;
    }

    private async Task<VfsAllocatedRange[]> Ranges(VfsFile f, long offset, long length)
    {
        var r = await Ops.QueryAllocatedRangesAsync(f, offset, length, Ct);
        Assert.Equal(NtStatus.Success, r.Status);
        return [.. r.Value!];
    }

    private async Task<NtFileAttributes> Attributes(VfsFile f) => (await Ops.FstatAsync(f, Ct)).Value!.Attributes;

    [Fact]
    public async Task SetSparse_SetsAndClears_TheAttribute_AndBasicInfoKeepsIt()
    {
        var f = await OpenOk("sparse.bin", CreateDisposition.Create);
        Assert.Equal(0, (int)(await Attributes(f) & NtFileAttributes.SparseFile));
        Assert.Equal(NtStatus.Success, await Ops.SetSparseAsync(f, true, Ct));
        Assert.Equal(NtStatus.Success, await Ops.SetSparseAsync(f, true, Ct)); // already sparse: no change
        Assert.True((await Attributes(f)).HasFlag(NtFileAttributes.SparseFile));
        Assert.True((await Ops.StatAsync(Tree, "sparse.bin", Ct)).Value!.Attributes.HasFlag(NtFileAttributes.SparseFile));
        // FileBasicInformation neither sets nor clears it.
        Assert.Equal(NtStatus.Success, await Ops.SetBasicInfoAsync(f, new VfsBasicInfo(null, null, null, null, NtFileAttributes.Hidden), Ct));
        Assert.Equal(NtFileAttributes.Hidden | NtFileAttributes.SparseFile, await Attributes(f));
        Assert.Equal(NtStatus.Success, await Ops.SetSparseAsync(f, false, Ct));
        Assert.Equal(NtFileAttributes.Hidden, await Attributes(f));
    }

    [Fact]
    public async Task SetSparse_OnDirectory_InvalidParameter_AndCreateIgnoresTheAttribute()
    {
        await Tree.CreateDirectoryAsync("dir");
        var d = await OpenOk("dir", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.InvalidParameter, await Ops.SetSparseAsync(d, true, Ct));
        var f = await OpenOk("created-sparse.bin", CreateDisposition.Create, attributes: NtFileAttributes.SparseFile);
        Assert.Equal(0, (int)(await Attributes(f) & NtFileAttributes.SparseFile));
    }

    [Fact]
    public async Task QueryAllocatedRanges_NotSparse_WholeRangeClippedToEndOfFile()
    {
        var f = await WriteBlocksAsync("dense.bin", 0, 65536);
        Assert.Equal(NtStatus.Success, await Ops.SetEndOfFileAsync(f, 100_000, Ct));
        Assert.Equal([new VfsAllocatedRange(1, 99_999)], await Ranges(f, 1, 1_000_000));
        Assert.Equal([new VfsAllocatedRange(0, 10)], await Ranges(f, 0, 10));
        Assert.Empty(await Ranges(f, 0, 0));
        Assert.Empty(await Ranges(f, 100_000, 10));
    }

    [Fact]
    public async Task QueryAllocatedRanges_Sparse_ReportsDataBetweenHoles()
    {
        var f = await WriteBlocksAsync("holes.bin", 0, 131072, 262144);
        Assert.Equal(NtStatus.Success, await Ops.SetSparseAsync(f, true, Ct));
        Assert.Equal(
            [new VfsAllocatedRange(0, 4096), new VfsAllocatedRange(131072, 4096), new VfsAllocatedRange(262144, 4096)],
            await Ranges(f, 0, long.MaxValue));
        // Clipped to the request at both ends.
        Assert.Equal([new VfsAllocatedRange(100, 3996), new VfsAllocatedRange(131072, 8)], await Ranges(f, 100, 131080 - 100));
        Assert.Empty(await Ranges(f, 8192, 65536));
    }

    [Theory]
    [InlineData(-1L, 10L)]
    [InlineData(0L, -1L)]
    [InlineData(512L, long.MaxValue)]
    public async Task QueryAllocatedRanges_BadRange_InvalidParameter(long offset, long length)
    {
        var f = await WriteBlocksAsync("bad.bin", 0);
        Assert.Equal(NtStatus.InvalidParameter, (await Ops.QueryAllocatedRangesAsync(f, offset, length, Ct)).Status);
    }

    [Fact]
    public async Task ZeroRange_Sparse_DeallocatesAndKeepsSize()
    {
        var f = await WriteBlocksAsync("punch.bin", 0, 4096, 8192);
        Assert.Equal(NtStatus.Success, await Ops.SetSparseAsync(f, true, Ct));
        Assert.Equal(NtStatus.Success, await Ops.ZeroRangeAsync(f, 4096, 4096, Ct));
        Assert.Equal([new VfsAllocatedRange(0, 4096), new VfsAllocatedRange(8192, 4096)], await Ranges(f, 0, 12288));
        var bytes = File.ReadAllBytes(Share.InRoot("punch.bin"));
        Assert.Equal(12288, bytes.Length);
        Assert.All(bytes.AsSpan(4096, 4096).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0x5A, bytes[4095]);
        Assert.Equal(0x5A, bytes[8192]);
    }

    [Fact]
    public async Task ZeroRange_NotSparse_Zeroes_PastEndOfFile_KeepsSize()
    {
        var f = await WriteBlocksAsync("zero.bin", 0);
        Assert.Equal(NtStatus.Success, await Ops.ZeroRangeAsync(f, 10, 20, Ct));
        Assert.Equal(NtStatus.Success, await Ops.ZeroRangeAsync(f, 4096, 8, Ct));
        Assert.Equal(NtStatus.Success, await Ops.ZeroRangeAsync(f, 100_000, 8, Ct));
        Assert.Equal(NtStatus.Success, await Ops.ZeroRangeAsync(f, 5, 0, Ct));
        var bytes = File.ReadAllBytes(Share.InRoot("zero.bin"));
        Assert.Equal(4096, bytes.Length);
        Assert.Equal(0x5A, bytes[9]);
        Assert.All(bytes.AsSpan(10, 20).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0x5A, bytes[30]);
        Assert.Equal([new VfsAllocatedRange(0, 4096)], await Ranges(f, 0, 4096));
    }

    [Fact]
    public async Task ZeroRange_ReadOnlyHandleOrDirectory_Refused()
    {
        await Tree.CreateFileAsync("ro.bin", "0123456789");
        var f = await OpenOk("ro.bin", access: AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.AccessDenied, await Ops.ZeroRangeAsync(f, 0, 4, Ct));
        await Tree.CreateDirectoryAsync("zdir");
        var d = await OpenOk("zdir", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.InvalidParameter, await Ops.ZeroRangeAsync(d, 0, 4, Ct));
        Assert.Equal(NtStatus.InvalidParameter, (await Ops.QueryAllocatedRangesAsync(d, 0, 4, Ct)).Status);
    }

    // ------------------------------------------------------------ metadata

    [Fact]
    public async Task FileId_IsInodeNumber()
    {
        await Tree.CreateFileAsync("id.txt");
        var f = await OpenOk("id.txt");
        Assert.Equal(Inode(Share.InRoot("id.txt")), f.FileId);
        Assert.Equal(f.FileId, (await Ops.FstatAsync(f, Ct)).Value!.FileId);
        Assert.Equal(f.FileId, (await Ops.StatAsync(Tree, "id.txt", Ct)).Value!.FileId);
    }

    [Fact]
    public async Task Stat_Missing_NameNotFound_MissingParent_PathNotFound()
    {
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Ops.StatAsync(Tree, "nope", Ct)).Status);
        Assert.Equal(NtStatus.ObjectPathNotFound, (await Ops.StatAsync(Tree, "nope\\deeper", Ct)).Status);
    }

    [Fact]
    public async Task Stat_MatchesFstat()
    {
        await Tree.CreateFileAsync("s.txt", "12345");
        var f = await OpenOk("s.txt");
        var byHandle = (await Ops.FstatAsync(f, Ct)).Value!;
        var byPath = (await Ops.StatAsync(Tree, "s.txt", Ct)).Value!;
        Assert.Equal(byHandle, byPath);
        Assert.Equal(5, byPath.EndOfFile);
        Assert.True(byPath.AllocationSize >= 0);
        Assert.Equal(1u, byPath.NumberOfLinks);
    }

    [Fact]
    public async Task SetBasicInfo_TimesAndAttributes_RoundTrip()
    {
        var f = await OpenOk("t.txt", CreateDisposition.Create);
        var created = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero).ToFileTime() + 1234;
        var written = new DateTimeOffset(2011, 2, 3, 4, 5, 6, TimeSpan.Zero).ToFileTime() + 5670;
        var accessed = new DateTimeOffset(2012, 2, 3, 4, 5, 6, TimeSpan.Zero).ToFileTime();
        var s = await Ops.SetBasicInfoAsync(f, new VfsBasicInfo(created, accessed, written, null, NtFileAttributes.Hidden), Ct);
        Assert.Equal(NtStatus.Success, s);
        var info = (await Ops.FstatAsync(f, Ct)).Value!;
        Assert.Equal(created, info.CreationTime);
        Assert.Equal(written, info.LastWriteTime);
        Assert.Equal(accessed, info.LastAccessTime);
        Assert.Equal(NtFileAttributes.Hidden, info.Attributes);

        // 0 and null leave values alone; Normal clears every attribute.
        Assert.Equal(NtStatus.Success, await Ops.SetBasicInfoAsync(f, new VfsBasicInfo(0, null, 0, 0, NtFileAttributes.Normal), Ct));
        info = (await Ops.FstatAsync(f, Ct)).Value!;
        Assert.Equal(created, info.CreationTime);
        Assert.Equal(written, info.LastWriteTime);
        Assert.Equal(NtFileAttributes.Normal, info.Attributes);
    }

    [Fact]
    public async Task SetBasicInfo_DirectoryBitOnFile_InvalidParameter()
    {
        var f = await OpenOk("nd.txt", CreateDisposition.Create);
        Assert.Equal(NtStatus.InvalidParameter, await Ops.SetBasicInfoAsync(f, new VfsBasicInfo(null, null, null, null, NtFileAttributes.Directory), Ct));
    }

    // ------------------------------------------------------------ case folding

    [Fact]
    public async Task Lookup_IsCaseInsensitive_AndReportsOnDiskCase()
    {
        await Tree.CreateDirectoryAsync("Docs");
        await Tree.CreateFileAsync("Docs\\ReadMe.TXT", "hi");
        var f = await OpenOk("docs\\README.txt");
        Assert.Equal("Docs\\ReadMe.TXT", f.Path);
        Assert.Equal(Inode(Share.InRoot("Docs/ReadMe.TXT")), f.FileId);
        Assert.Equal(NtStatus.ObjectNameCollision, (await Open("DOCS\\readme.txt", CreateDisposition.Create)).Status);
    }

    [Fact]
    public async Task NewFile_KeepsTheCaseGiven_InExistingDirectoryFoundCaseInsensitively()
    {
        await Tree.CreateDirectoryAsync("Folder");
        var f = await OpenOk("FOLDER\\MixedCase.Txt", CreateDisposition.Create);
        Assert.Equal("Folder\\MixedCase.Txt", f.Path);
        Assert.True(File.Exists(Share.InRoot("Folder/MixedCase.Txt")));
    }

    // ------------------------------------------------------------ enumerate

    [Fact]
    public async Task Enumerate_ListsEntries_InStableOrder_WithoutDots()
    {
        await Tree.CreateDirectoryAsync("list");
        await Tree.CreateFileAsync("list\\b.txt", "bb");
        await Tree.CreateFileAsync("list\\a.txt", "a");
        await Tree.CreateDirectoryAsync("list\\sub");
        var d = await OpenOk("list", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        var r = await Ops.EnumerateAsync(d, Ct);
        Assert.Equal(NtStatus.Success, r.Status);
        var entries = r.Value!;
        Assert.Equal(["a.txt", "b.txt", "sub"], entries.Select(e => e.Name));
        Assert.Equal(2, entries[1].Info.EndOfFile);
        Assert.Equal(NtFileAttributes.Archive, entries[0].Info.Attributes);
        Assert.Equal(NtFileAttributes.Directory, entries[2].Info.Attributes);
        Assert.Equal(entries.Select(e => e.Name), (await Ops.EnumerateAsync(d, Ct)).Value!.Select(e => e.Name));
    }

    [Fact]
    public async Task Enumerate_OnFile_InvalidParameter()
    {
        await Tree.CreateFileAsync("e.txt");
        var f = await OpenOk("e.txt");
        Assert.Equal(NtStatus.InvalidParameter, (await Ops.EnumerateAsync(f, Ct)).Status);
    }

    // ------------------------------------------------------------ rename

    [Fact]
    public async Task Rename_OpenFile_MovesIt_AndUpdatesPath()
    {
        await Tree.CreateDirectoryAsync("dst");
        await Tree.CreateFileAsync("from.txt", "x");
        var f = await OpenOk("from.txt", access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.Success, await Ops.RenameAsync(f, "DST\\to.txt", false, Ct));
        Assert.Equal("dst\\to.txt", f.Path);
        Assert.True(File.Exists(Share.InRoot("dst/to.txt")));
        Assert.False(File.Exists(Share.InRoot("from.txt")));
        Assert.Equal("x", await Tree.ReadAllTextAsync(f));
    }

    [Fact]
    public async Task Rename_OntoExisting_WithoutReplace_Collision_WithReplace_Replaces()
    {
        await Tree.CreateFileAsync("one.txt", "1");
        await Tree.CreateFileAsync("two.txt", "2");
        var f = await OpenOk("one.txt", access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.ObjectNameCollision, await Ops.RenameAsync(f, "two.txt", false, Ct));
        Assert.Equal(NtStatus.ObjectNameCollision, await Ops.RenameAsync(f, "TWO.TXT", false, Ct));
        Assert.Equal(NtStatus.Success, await Ops.RenameAsync(f, "two.txt", true, Ct));
        Assert.Equal("1", File.ReadAllText(Share.InRoot("two.txt")));
        Assert.False(File.Exists(Share.InRoot("one.txt")));
    }

    [Fact]
    public async Task Rename_FileOntoDirectory_WithReplace_AccessDenied()
    {
        await Tree.CreateFileAsync("f.txt");
        await Tree.CreateDirectoryAsync("adir");
        var f = await OpenOk("f.txt", access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.AccessDenied, await Ops.RenameAsync(f, "adir", true, Ct));
    }

    [Fact]
    public async Task Rename_CaseOnly_ChangesCase()
    {
        await Tree.CreateFileAsync("case.txt");
        var f = await OpenOk("case.txt", access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.Success, await Ops.RenameAsync(f, "CASE.TXT", false, Ct));
        Assert.Equal("CASE.TXT", f.Path);
        Assert.Equal(["CASE.TXT"], Directory.GetFiles(Share.Root).Select(p => Path.GetFileName(p)));
    }

    [Fact]
    public async Task Rename_Directory_WithContents()
    {
        await Tree.CreateDirectoryAsync("olddir");
        await Tree.CreateFileAsync("olddir\\inner.txt", "i");
        var d = await OpenOk("olddir", options: CreateOptions.DirectoryFile, access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.Success, await Ops.RenameAsync(d, "newdir", false, Ct));
        Assert.Equal("newdir", d.Path);
        Assert.True(File.Exists(Share.InRoot("newdir/inner.txt")));
        Assert.Equal(["inner.txt"], (await Ops.EnumerateAsync(d, Ct)).Value!.Select(e => e.Name));
    }

    [Fact]
    public async Task Rename_TargetParentMissing_ObjectPathNotFound_TargetInvalid_NameInvalid()
    {
        await Tree.CreateFileAsync("p.txt");
        var f = await OpenOk("p.txt", access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.ObjectPathNotFound, await Ops.RenameAsync(f, "nowhere\\p.txt", false, Ct));
        Assert.Equal(NtStatus.ObjectNameInvalid, await Ops.RenameAsync(f, "bad*name", false, Ct));
        Assert.Equal(NtStatus.ObjectPathSyntaxBad, await Ops.RenameAsync(f, "..\\escape.txt", false, Ct));
        Assert.True(File.Exists(Share.InRoot("p.txt")));
    }

    [Fact]
    public async Task Rename_DirectoryIntoItself_Fails()
    {
        await Tree.CreateDirectoryAsync("loop");
        var d = await OpenOk("loop", options: CreateOptions.DirectoryFile, access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.NotEqual(NtStatus.Success, await Ops.RenameAsync(d, "loop\\inside", false, Ct));
        Assert.True(Directory.Exists(Share.InRoot("loop")));
    }

    [Fact]
    public async Task RenamePath_MovesByName()
    {
        await Tree.CreateFileAsync("byname.txt", "n");
        Assert.Equal(NtStatus.Success, await Ops.RenamePathAsync(Tree, "BYNAME.txt", "moved.txt", false, Ct));
        Assert.True(File.Exists(Share.InRoot("moved.txt")));
        Assert.Equal(NtStatus.ObjectNameNotFound, await Ops.RenamePathAsync(Tree, "byname.txt", "x.txt", false, Ct));
        await Tree.CreateFileAsync("other.txt");
        Assert.Equal(NtStatus.ObjectNameCollision, await Ops.RenamePathAsync(Tree, "moved.txt", "other.txt", false, Ct));
    }

    // ------------------------------------------------------------ unlink

    [Fact]
    public async Task Unlink_File_RemovesItFromItsPath()
    {
        await Tree.CreateDirectoryAsync("u");
        await Tree.CreateFileAsync("u\\gone.txt", "bye");
        Assert.Equal(NtStatus.Success, await Ops.UnlinkAsync(Tree, "u\\GONE.txt", false, Ct));
        Assert.False(File.Exists(Share.InRoot("u/gone.txt")));
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Ops.StatAsync(Tree, "u\\gone.txt", Ct)).Status);
    }

    [Fact]
    public async Task Unlink_Missing_NameNotFound_MissingParent_PathNotFound()
    {
        Assert.Equal(NtStatus.ObjectNameNotFound, await Ops.UnlinkAsync(Tree, "none.txt", false, Ct));
        Assert.Equal(NtStatus.ObjectPathNotFound, await Ops.UnlinkAsync(Tree, "none\\none.txt", false, Ct));
    }

    [Fact]
    public async Task Unlink_Directory_EmptyRemoved_NonEmptyDirectoryNotEmpty()
    {
        await Tree.CreateDirectoryAsync("full");
        await Tree.CreateFileAsync("full\\f.txt");
        await Tree.CreateDirectoryAsync("empty");
        Assert.Equal(NtStatus.DirectoryNotEmpty, await Ops.UnlinkAsync(Tree, "full", true, Ct));
        Assert.Equal(NtStatus.Success, await Ops.UnlinkAsync(Tree, "empty", true, Ct));
        Assert.False(Directory.Exists(Share.InRoot("empty")));
        Assert.True(Directory.Exists(Share.InRoot("full")));
    }

    [Fact]
    public async Task Unlink_TypeMismatch_And_Root()
    {
        await Tree.CreateFileAsync("tm.txt");
        await Tree.CreateDirectoryAsync("tmdir");
        Assert.Equal(NtStatus.NotADirectory, await Ops.UnlinkAsync(Tree, "tm.txt", true, Ct));
        Assert.Equal(NtStatus.FileIsADirectory, await Ops.UnlinkAsync(Tree, "tmdir", false, Ct));
        Assert.Equal(NtStatus.AccessDenied, await Ops.UnlinkAsync(Tree, "", true, Ct));
        Assert.True(Directory.Exists(Share.Root));
    }

    // ------------------------------------------------------------ streams

    [Fact]
    public async Task DefaultStreamSyntax_OpensTheFile_NamedStream_NotFoundUntilCreated()
    {
        await Tree.CreateFileAsync("s.txt", "abc");
        var f = await OpenOk("s.txt::$DATA");
        Assert.Equal("s.txt", f.Path);
        Assert.Null(f.StreamName);
        Assert.Equal("abc", await Tree.ReadAllTextAsync(f));
        Assert.Equal(NtStatus.Success, (await Open("S.TXT::$data", CreateDisposition.Open)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Open("s.txt:named", CreateDisposition.Open)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Open("s.txt:named:$DATA", CreateDisposition.Overwrite)).Status);
        Assert.Equal(NtStatus.ObjectNameInvalid, (await Open("s.txt:named:$FOO", CreateDisposition.OpenIf)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Ops.StatAsync(Tree, "s.txt:named", Ct)).Status);
        Assert.Single(Directory.GetFiles(Share.Root));
    }

    [Fact]
    public async Task NamedStream_CreateWriteRead_IsSeparateFromTheFile_AndStoredAsSambaXattr()
    {
        await Tree.CreateFileAsync("ns.txt", "base");
        var r = await Open("ns.txt:Alpha:$DATA", CreateDisposition.Create);
        Assert.True(r.IsSuccess, r.Status.ToWireName());
        Assert.Equal(CreateAction.Created, r.Value!.Action);
        var s = r.Value.File;
        Assert.Equal("Alpha", s.StreamName);
        Assert.Equal("ns.txt:Alpha", s.Path);
        Assert.Equal(5, (await Ops.WriteAsync(s, 0, Encoding.UTF8.GetBytes("hello"), false, Ct)).Value);
        Assert.Equal(3, (await Ops.WriteAsync(s, 7, Encoding.UTF8.GetBytes("xyz"), false, Ct)).Value);
        Assert.Equal("hello\0\0xyz", await Tree.ReadAllTextAsync(s));
        var info = (await Ops.FstatAsync(s, Ct)).Value!;
        Assert.Equal(10, info.EndOfFile);
        Assert.False(info.IsDirectory);
        Assert.Equal(10, (await Ops.StatAsync(Tree, "NS.TXT:alpha", Ct)).Value!.EndOfFile);
        Assert.Equal("base", File.ReadAllText(Path.Combine(Share.Root, "ns.txt")));

        // Samba's vfs_streams_xattr layout: the data plus one trailing NUL.
        var raw = XattrOf(Path.Combine(Share.Root, "ns.txt"), "user.DosStream.Alpha:$DATA");
        Assert.Equal(Encoding.UTF8.GetBytes("hello\0\0xyz\0"), raw);

        // Case-insensitive lookup keeps the creator's spelling; Create on an existing stream collides.
        var again = await OpenOk("ns.txt:ALPHA", CreateDisposition.Open);
        Assert.Equal("Alpha", again.StreamName);
        Assert.Equal(s.ShareModeId, again.ShareModeId);
        Assert.NotEqual(s.FileId, s.ShareModeId);
        Assert.Equal(s.FileId, again.FileId);
        Assert.Equal(NtStatus.ObjectNameCollision, (await Open("ns.txt:alpha", CreateDisposition.Create)).Status);

        Assert.Equal(NtStatus.Success, await Ops.SetEndOfFileAsync(s, 2, Ct));
        Assert.Equal("he", await Tree.ReadAllTextAsync(again));

        var list = (await Ops.ListStreamsAsync(s, Ct)).Value!;
        Assert.Equal(["::$DATA", ":Alpha:$DATA"], list.Select(x => x.Name));
        Assert.Equal([4L, 2L], list.Select(x => x.Size));
    }

    [Fact]
    public async Task NamedStream_OnMissingFile_CreatesTheFileToo_UnlinkRemovesOnlyTheStream()
    {
        var s = await OpenOk("new.txt:meta", CreateDisposition.OpenIf);
        Assert.True(File.Exists(Path.Combine(Share.Root, "new.txt")));
        Assert.Equal(0, new FileInfo(Path.Combine(Share.Root, "new.txt")).Length);
        await Close(s);
        Assert.Equal(NtStatus.Success, await Ops.UnlinkAsync(Tree, "new.txt:META", false, Ct));
        Assert.True(File.Exists(Path.Combine(Share.Root, "new.txt")));
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Open("new.txt:meta", CreateDisposition.Open)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, await Ops.UnlinkAsync(Tree, "new.txt:meta", false, Ct));
        Assert.Equal(NtStatus.ObjectNameNotFound, (await Open("missing.txt:meta", CreateDisposition.Open)).Status);
        Assert.False(File.Exists(Path.Combine(Share.Root, "missing.txt")));
    }

    [Fact]
    public async Task NamedStream_OnDirectory_ListsNoDefaultStream()
    {
        await Tree.CreateDirectoryAsync("sd");
        var s = await OpenOk("sd:info", CreateDisposition.Create);
        await Ops.WriteAsync(s, 0, Encoding.UTF8.GetBytes("x"), false, Ct);
        Assert.Equal(NtStatus.NotADirectory, (await Open("sd:info", CreateDisposition.Open, CreateOptions.DirectoryFile)).Status);
        var d = await OpenOk("sd", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        var list = (await Ops.ListStreamsAsync(d, Ct)).Value!;
        Assert.Equal(":info:$DATA", Assert.Single(list).Name);
        Assert.Equal(1, list[0].Size);
    }

    [Fact]
    public async Task NamedStream_WriteBeyondTheXattrLimit_IsDiskFull_AndCopyRangeWorksAcrossStreams()
    {
        await Tree.CreateFileAsync("big.txt", "0123456789");
        var s = await OpenOk("big.txt:s", CreateDisposition.Create);
        Assert.Equal(NtStatus.DiskFull, (await Ops.WriteAsync(s, 70000, new byte[1], false, Ct)).Status);
        Assert.Equal(NtStatus.DiskFull, (await Ops.WriteAsync(s, long.MaxValue - 1, new byte[4], false, Ct)).Status);
        var f = await OpenOk("big.txt");
        Assert.Equal(10, (await Ops.CopyRangeAsync(f, 0, s, 0, 10, Ct)).Value);
        Assert.Equal("0123456789", await Tree.ReadAllTextAsync(s));
        Assert.Equal(4, (await Ops.CopyRangeAsync(s, 6, f, 0, 4, Ct)).Value);
        Assert.Equal("6789456789", await Tree.ReadAllTextAsync(f));
    }

    [Fact]
    public async Task NamedStream_BadNamesAndRenames_AreRefused()
    {
        await Tree.CreateFileAsync("bn.txt");
        Assert.Equal(NtStatus.ObjectNameInvalid, (await Open("bn.txt:a/b", CreateDisposition.OpenIf)).Status);
        Assert.Equal(NtStatus.ObjectNameInvalid, (await Open("bn.txt:" + new string('n', 240), CreateDisposition.OpenIf)).Status);
        Assert.Equal(NtStatus.ObjectNameInvalid, (await Open("bn.txt:a:b:$DATA", CreateDisposition.OpenIf)).Status);
        var f = await OpenOk("bn.txt");
        Assert.Equal(NtStatus.InvalidParameter, await Ops.RenameAsync(f, "other.txt:s", false, Ct));
        var s = await OpenOk("bn.txt:s", CreateDisposition.Create);
        Assert.NotEqual(NtStatus.Success, await Ops.RenameAsync(s, "bn2.txt", false, Ct));
        Assert.True(File.Exists(Path.Combine(Share.Root, "bn.txt")));
    }

    private static byte[]? XattrOf(string path, string name)
    {
        using var h = File.OpenHandle(path);
        return LibC.FGetXattr((int)h.DangerousGetHandle(), name, out _);
    }

    [Fact]
    public async Task ListStreams_FileHasDefaultStream_DirectoryHasNone()
    {
        await Tree.CreateFileAsync("st.txt", "12345");
        await Tree.CreateDirectoryAsync("std");
        var f = await OpenOk("st.txt");
        var d = await OpenOk("std", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        var fs = (await Ops.ListStreamsAsync(f, Ct)).Value!;
        Assert.Equal("::$DATA", Assert.Single(fs).Name);
        Assert.Equal(5, fs[0].Size);
        Assert.Empty((await Ops.ListStreamsAsync(d, Ct)).Value!);
    }

    // ------------------------------------------------------------ security

    [Fact]
    public async Task Security_FileWithoutStoredDescriptor_GetsTheDefault_AndHonoursSecurityInformationBits()
    {
        await File.WriteAllTextAsync(Share.InRoot("sd.txt"), "made outside SMB");
        var f = await OpenOk("sd.txt");
        var all = (await Ops.GetSecurityAsync(f, 0x7, Ct)).Value!;
        Assert.True(SecurityDescriptor.TryParse(all, out var sd));
        Assert.Equal(WellKnownSids.BuiltinAdministrators, sd.Owner);
        Assert.NotNull(sd.Group);
        Assert.Equal(new Acl([new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileAllAccess, WellKnownSids.Everyone)]), sd.Dacl);

        var ownerOnly = (await Ops.GetSecurityAsync(f, 0x1, Ct)).Value!;
        Assert.True(SecurityDescriptor.TryParse(ownerOnly, out var o));
        Assert.NotNull(o.Owner);
        Assert.Null(o.Group);
        Assert.Null(o.Dacl);
        Assert.False(o.DaclPresent);
    }

    [Fact]
    public async Task Security_NewFile_IsOwnedByItsCreator_AndInheritsFromTheParent()
    {
        await Tree.CreateDirectoryAsync("inh");
        await Tree.CreateFileAsync("inh\\f.txt");
        var token = Tree.User.Token;
        var d = await OpenOk("inh", options: CreateOptions.DirectoryFile, access: AccessMask.ReadControl);
        Assert.True(SecurityDescriptor.TryParse((await Ops.GetSecurityAsync(d, 0x7, Ct)).Value!, out var dsd));
        Assert.Equal(token.User, dsd.Owner);
        Assert.Equal(token.PrimaryGroup, dsd.Group);
        // The default root descriptor is not auto-inherited, so inherited ACEs are not marked INHERITED_ACE.
        Assert.Equal(new Acl([new Ace(AceType.AccessAllowed, AceFlags.ObjectInherit | AceFlags.ContainerInherit,
            AccessMask.FileAllAccess, WellKnownSids.Everyone)]), dsd.Dacl);
        var f = await OpenOk("inh\\f.txt", access: AccessMask.ReadControl);
        Assert.True(SecurityDescriptor.TryParse((await Ops.GetSecurityAsync(f, 0x7, Ct)).Value!, out var fsd));
        Assert.Equal(token.User, fsd.Owner);
        Assert.Equal(new Acl([new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileAllAccess, WellKnownSids.Everyone)]), fsd.Dacl);
    }

    [Fact]
    public async Task Security_SetDacl_IsReturnedOnGet()
    {
        await Tree.CreateFileAsync("acl.txt");
        var f = await OpenOk("acl.txt");
        var update = new SecurityDescriptor
        {
            Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.DaclProtected,
            Dacl = new Acl([new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileGenericRead, WellKnownSids.BuiltinUsers)]),
        };
        Assert.Equal(NtStatus.Success, await Ops.SetSecurityAsync(f, 0x4, update.ToSelfRelative(SecurityInformation.Dacl), Ct));
        var back = (await Ops.GetSecurityAsync(f, 0x5, Ct)).Value!;
        Assert.True(SecurityDescriptor.TryParse(back, out var sd));
        Assert.Equal(update.Dacl, sd.Dacl);
        Assert.True(sd.Control.HasFlag(SecurityDescriptorControl.DaclProtected));
        Assert.Equal(Tree.User.Token.User, sd.Owner); // untouched part kept
        Assert.Equal(NtStatus.InvalidSecurityDescr, await Ops.SetSecurityAsync(f, 0x4, new byte[] { 1, 2, 3 }, Ct));
    }

    // ------------------------------------------------------------ EAs

    [Fact]
    public async Task Eas_SetGetDelete()
    {
        await Tree.CreateFileAsync("ea.txt");
        var f = await OpenOk("ea.txt");
        Assert.Empty((await Ops.GetEasAsync(f, Ct)).Value!);
        Assert.Equal(NtStatus.Success, await Ops.SetEasAsync(f, [new VfsEa("COLOR", "blue"u8.ToArray()), new VfsEa("SIZE", [1, 2])], Ct));
        var eas = (await Ops.GetEasAsync(f, Ct)).Value!;
        Assert.Equal(["COLOR", "SIZE"], eas.Select(e => e.Name));
        Assert.Equal("blue"u8.ToArray(), eas[0].Value);
        Assert.Equal(NtStatus.Success, await Ops.SetEasAsync(f, [new VfsEa("color", [])], Ct));
        Assert.Equal(["SIZE"], (await Ops.GetEasAsync(f, Ct)).Value!.Select(e => e.Name));
        Assert.Equal(NtStatus.InvalidParameter, await Ops.SetEasAsync(f, [new VfsEa("bad:name", [1])], Ct));
        Assert.Equal(NtStatus.AccessDenied, await Ops.SetEasAsync(f, [new VfsEa("DOSATTRIB", [1])], Ct));
        // The DOS attribute xattr is intact and never shown as an EA.
        Assert.Equal(NtFileAttributes.Archive, (await Ops.FstatAsync(f, Ct)).Value!.Attributes);
    }

    // ------------------------------------------------------------ handles

    [Fact]
    public async Task OperationsOnClosedHandle_InvalidHandle()
    {
        await Tree.CreateFileAsync("c.txt");
        var f = await OpenOk("c.txt");
        await Close(f);
        Assert.Equal(NtStatus.InvalidHandle, (await Ops.ReadAsync(f, 0, new byte[1], Ct)).Status);
        Assert.Equal(NtStatus.InvalidHandle, (await Ops.FstatAsync(f, Ct)).Status);
    }

    [Fact]
    public async Task Cancelled_Token_ReturnsCancelled()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var r = await Ops.OpenAsync(Tree, new VfsOpenRequest { Path = "x", Disposition = CreateDisposition.OpenIf }, cts.Token);
        Assert.Equal(NtStatus.Cancelled, r.Status);
        Assert.False(File.Exists(Share.InRoot("x")));
    }
}

public sealed class PosixConformanceTests : VfsModuleConformanceTests
{
    protected override IReadOnlyList<string> Modules => ["posix"];
}

public sealed class AuditPosixConformanceTests : VfsModuleConformanceTests
{
    protected override IReadOnlyList<string> Modules => ["audit", "posix"];
}

public sealed class RecyclePosixConformanceTests : VfsModuleConformanceTests
{
    protected override IReadOnlyList<string> Modules => ["recycle", "posix"];
}
