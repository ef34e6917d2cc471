using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Vfs.Posix;
using CaStorage.Vfs.Tests.Support;

namespace CaStorage.Vfs.Tests;

/// <summary>posix-only behaviour: user.DOSATTRIB format and persistence, root attributes, mode-derived attributes.</summary>
public sealed class PosixModuleTests : IAsyncLifetime
{
    private TempShare _share = null!;
    private static CancellationToken Ct => CancellationToken.None;

    public Task InitializeAsync()
    {
        _share = TempShare.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _share.DisposeAsync();

    private static byte[]? ReadXattr(string path, string name) => LibC.LGetXattr(path, name, out _);

    [Fact]
    public async Task DosAttributesAndCreationTime_PersistAcrossAFreshStack()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2020, 5, 6, 7, 8, 9, TimeSpan.Zero));
        var tree = await TempShare.ConnectAsync(_share.Build(["posix"], time: clock));
        var f = await tree.OpenOkAsync("keep.txt", CreateDisposition.Create, attributes: NtFileAttributes.Hidden);
        var created = (await tree.Ops.FstatAsync(f, Ct)).Value!;
        Assert.Equal(clock.Now.ToFileTime(), created.CreationTime);
        var newCreation = new DateTimeOffset(1999, 12, 31, 23, 59, 59, TimeSpan.Zero).ToFileTime() + 7;
        Assert.Equal(NtStatus.Success, await tree.Ops.SetBasicInfoAsync(f,
            new VfsBasicInfo(newCreation, null, null, null, NtFileAttributes.ReadOnly | NtFileAttributes.System | NtFileAttributes.Archive), Ct));
        await tree.Ops.CloseAsync(f);
        await tree.DisposeAsync();

        var fresh = await TempShare.ConnectAsync(_share.Build(["posix"]));
        var g = await fresh.OpenOkAsync("keep.txt", access: AccessMask.FileGenericRead);
        var info = (await fresh.Ops.FstatAsync(g, Ct)).Value!;
        Assert.Equal(newCreation, info.CreationTime);
        Assert.Equal(NtFileAttributes.ReadOnly | NtFileAttributes.System | NtFileAttributes.Archive, info.Attributes);
        Assert.Equal(info, (await fresh.Ops.StatAsync(fresh, "keep.txt", Ct)).Value);
        var root = await fresh.OpenOkAsync("", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        var entry = Assert.Single((await fresh.Ops.EnumerateAsync(root, Ct)).Value!);
        Assert.Equal(info, entry.Info);
        Assert.Equal(NtStatus.AccessDenied, (await fresh.OpenAsync("keep.txt", access: AccessMask.FileWriteData)).Status);
        await fresh.Ops.CloseAsync(g);
        await fresh.Ops.CloseAsync(root);
        await fresh.DisposeAsync();
    }

    [Fact]
    public async Task PlacementTag_TheFirstProposalWinsForEveryStackAndPath_AndIsNoEa()
    {
        // Two stacks on one directory: two nodes sharing the file system.
        var one = await TempShare.ConnectAsync(_share.Build(["posix"]));
        var two = await TempShare.ConnectAsync(_share.Build(["posix"]));
        var f = await one.OpenOkAsync("placed.txt", CreateDisposition.Create);
        Assert.Equal(VfsResult<byte>.Ok(7), await one.Ops.PlacementTagAsync(f, 7, Ct));
        var g = await two.OpenOkAsync("placed.txt");
        Assert.Equal(VfsResult<byte>.Ok(7), await two.Ops.PlacementTagAsync(g, 9, Ct)); // kept, not replaced
        Assert.Equal(VfsResult<byte>.Ok(7), await two.Ops.PlacementTagAsync(two, "placed.txt", 200, Ct));
        Assert.Equal([7], ReadXattr(_share.InRoot("placed.txt"), PosixVfsModule.PlacementXattr));
        // A stream's tag is its file's.
        var stream = await two.OpenOkAsync("placed.txt:side", CreateDisposition.Create);
        Assert.Equal(VfsResult<byte>.Ok(7), await two.Ops.PlacementTagAsync(stream, 1, Ct));
        // By path first, then by handle; a directory too.
        await one.CreateDirectoryAsync("dir");
        Assert.Equal(VfsResult<byte>.Ok(255), await one.Ops.PlacementTagAsync(one, "dir", 255, Ct));
        var d = await two.OpenOkAsync("dir", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        Assert.Equal(VfsResult<byte>.Ok(255), await two.Ops.PlacementTagAsync(d, 0, Ct));
        Assert.Equal(NtStatus.ObjectNameNotFound, (await one.Ops.PlacementTagAsync(one, "missing.txt", 1, Ct)).Status);
        // Not a client's to see or change.
        Assert.Empty((await one.Ops.GetEasAsync(f, Ct)).Value!);
        Assert.Equal(NtStatus.AccessDenied, await one.Ops.SetEasAsync(f, [new VfsEa("castorage.home", [1])], Ct));
        // A value that is not ours (one byte) is refused alike on every node: they all fall back to the file's id.
        Assert.Equal(0, LibC.LSetXattr(_share.InRoot("placed.txt"), PosixVfsModule.PlacementXattr, [1, 2]));
        Assert.Equal(NtStatus.NotSupported, (await one.Ops.PlacementTagAsync(f, 7, Ct)).Status);
        Assert.Equal(NtStatus.NotSupported, (await two.Ops.PlacementTagAsync(two, "placed.txt", 7, Ct)).Status);
        foreach (var h in new[] { f, g, stream, d }) await (h == f ? one : two).Ops.CloseAsync(h);
        await one.DisposeAsync();
        await two.DisposeAsync();
    }

    [Fact]
    public async Task DosAttrib_IsWrittenInSambaVersion5Format()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2021, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var tree = await TempShare.ConnectAsync(_share.Build(["posix"], time: clock));
        await tree.CreateFileAsync("samba.txt", attributes: NtFileAttributes.Hidden);
        await tree.CreateDirectoryAsync("sambadir");
        await tree.DisposeAsync();

        var blob = ReadXattr(_share.InRoot("samba.txt"), "user.DOSATTRIB");
        Assert.NotNull(blob);
        var expected = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(2), 5);
        BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(4), 5);
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(8), 0x11);
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(12), 0x22); // Hidden | Archive
        BinaryPrimitives.WriteInt64LittleEndian(expected.AsSpan(16), clock.Now.ToFileTime());
        Assert.Equal(expected, blob);
        // Samba's getfattr dump starts "0sAAAFAAUAAAARAAAA" for every v5 blob.
        Assert.StartsWith("AAAFAAUAAAARAAAA", Convert.ToBase64String(blob!));

        var dirBlob = ReadXattr(_share.InRoot("sambadir"), "user.DOSATTRIB");
        Assert.True(DosAttribXattr.TryDecode(dirBlob, out var dirAttributes, out _));
        Assert.Equal((uint)NtFileAttributes.Directory, dirAttributes);
    }

    [Fact]
    public void DosAttrib_DecodesOlderSambaVersions()
    {
        // Version 3 as Samba 4.x before 4.9 wrote it: "0x20" hex string, then version/level 3.
        var v3 = new byte[]
        {
            (byte)'0', (byte)'x', (byte)'2', (byte)'0', 0, 0, 3, 0, 3, 0, 0, 0,
            0x11, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, // valid_flags, attrib, ea_size
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // size, alloc_size
            0x80, 0x3E, 0xD5, 0xDE, 0xB1, 0x9D, 0x01, 0x00, // create_time (not checked exactly)
            0, 0, 0, 0, 0, 0, 0, 0, // change_time
        };
        Assert.True(DosAttribXattr.TryDecode(v3, out var a3, out var c3));
        Assert.Equal(0x20u, a3);
        Assert.Equal(BinaryPrimitives.ReadInt64LittleEndian(v3.AsSpan(40)), c3);

        // The oldest form: only the hex string.
        Assert.True(DosAttribXattr.TryDecode("0x21\0"u8, out var a0, out var c0));
        Assert.Equal(0x21u, a0);
        Assert.Null(c0);

        // Version 4: valid_flags, attrib, itime, create_time.
        var v4 = new byte[32];
        BinaryPrimitives.WriteUInt16LittleEndian(v4.AsSpan(2), 4);
        BinaryPrimitives.WriteUInt16LittleEndian(v4.AsSpan(4), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(v4.AsSpan(8), 0x1);
        BinaryPrimitives.WriteUInt32LittleEndian(v4.AsSpan(12), 0x4);
        BinaryPrimitives.WriteInt64LittleEndian(v4.AsSpan(24), 12345);
        Assert.True(DosAttribXattr.TryDecode(v4, out var a4, out var c4));
        Assert.Equal(0x4u, a4);
        Assert.Null(c4); // create time not flagged valid

        Assert.False(DosAttribXattr.TryDecode([1, 2, 3], out _, out _));
        Assert.False(DosAttribXattr.TryDecode(v4.AsSpan(0, 10), out _, out _));
    }

    [Fact]
    public async Task FilesWithoutXattr_DeriveAttributesFromMode()
    {
        File.WriteAllText(_share.InRoot("plain.txt"), "p");
        File.WriteAllText(_share.InRoot("readonly.txt"), "r");
        File.SetUnixFileMode(_share.InRoot("readonly.txt"), UnixFileMode.UserRead | UnixFileMode.GroupRead);
        Directory.CreateDirectory(_share.InRoot("plaindir"));
        var tree = await TempShare.ConnectAsync(_share.Build(["posix"]));
        Assert.Equal(NtFileAttributes.Normal, (await tree.Ops.StatAsync(tree, "plain.txt", Ct)).Value!.Attributes);
        Assert.Equal(NtFileAttributes.ReadOnly, (await tree.Ops.StatAsync(tree, "readonly.txt", Ct)).Value!.Attributes);
        Assert.Equal(NtFileAttributes.Directory, (await tree.Ops.StatAsync(tree, "plaindir", Ct)).Value!.Attributes);
        Assert.Equal(NtFileAttributes.Directory, (await tree.Ops.StatAsync(tree, "", Ct)).Value!.Attributes);
        var info = (await tree.Ops.StatAsync(tree, "plain.txt", Ct)).Value!;
        Assert.True(info.CreationTime > 0 && info.CreationTime <= info.ChangeTime);
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task Root_IgnoresStoredAttributes_ButKeepsCreationTime()
    {
        var tree = await TempShare.ConnectAsync(_share.Build(["posix"]));
        var root = await tree.OpenOkAsync("", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead | AccessMask.FileWriteAttributes);
        var when = new DateTimeOffset(2010, 1, 1, 0, 0, 0, TimeSpan.Zero).ToFileTime();
        Assert.Equal(NtStatus.Success, await tree.Ops.SetBasicInfoAsync(root, new VfsBasicInfo(when, null, null, null, NtFileAttributes.Hidden), Ct));
        var info = (await tree.Ops.FstatAsync(root, Ct)).Value!;
        Assert.Equal(NtFileAttributes.Directory, info.Attributes);
        Assert.Equal(when, info.CreationTime);
        await tree.Ops.CloseAsync(root);
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task Connect_MissingRoot_BadNetworkName()
    {
        var registry = VfsModuleRegistry.CreateDefault(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TimeProvider.System);
        var stack = new VfsStackBuilder(registry).Build("gone", Path.Combine(_share.Base, "does-not-exist"), ["posix"]);
        var tree = new VfsTreeContext(stack, new VfsUser("u", "d"));
        Assert.Equal(NtStatus.BadNetworkName, await tree.Ops.ConnectAsync(tree, Ct));
        Assert.Equal(NtStatus.BadNetworkName, (await tree.OpenAsync("x", CreateDisposition.OpenIf)).Status);
    }

    [Fact]
    public async Task Rename_OfAFileRenamedBehindOurBack_UsesTheFdLocation()
    {
        var tree = await TempShare.ConnectAsync(_share.Build(["posix"]));
        await tree.CreateFileAsync("orig.txt", "o");
        var f = await tree.OpenOkAsync("orig.txt", access: AccessMask.Delete | AccessMask.FileGenericRead);
        File.Move(_share.InRoot("orig.txt"), _share.InRoot("elsewhere.txt"));
        Assert.Equal(NtStatus.Success, await tree.Ops.RenameAsync(f, "final.txt", false, Ct));
        Assert.True(File.Exists(_share.InRoot("final.txt")));
        Assert.False(File.Exists(_share.InRoot("elsewhere.txt")));
        await tree.Ops.CloseAsync(f);
        await tree.DisposeAsync();
    }

    [Fact]
    public void VerifiedDirectory_RefusesADirectoryReachedThroughASwappedSymlink()
    {
        // What a concurrent swap of "a" for a symlink between resolution and open would leave us with.
        Directory.CreateDirectory(_share.InRoot("real"));
        File.CreateSymbolicLink(_share.InRoot("swapped"), _share.Outside);
        File.CreateSymbolicLink(_share.InRoot("link-to-real"), _share.InRoot("real"));
        var posix = Assert.IsType<PosixVfsModule>(_share.Build(["posix"]).Top);
        var root = LibC.RealPath(_share.Root, out _)!;

        Assert.Equal(NtStatus.Success, posix.OpenVerifiedDirectory(root, root + "/real", out var fd));
        LibC.Close(fd);
        Assert.Equal(NtStatus.Success, posix.OpenVerifiedDirectory(root, root, out fd));
        LibC.Close(fd);
        Assert.Equal(NtStatus.AccessDenied, posix.OpenVerifiedDirectory(root, root + "/swapped/dir", out fd));
        Assert.Equal(-1, fd);
        Assert.Equal(NtStatus.AccessDenied, posix.OpenVerifiedDirectory(root, LibC.RealPath(_share.Outside, out _)!, out _));
        // The last component is never followed.
        Assert.Equal(NtStatus.ObjectPathNotFound, posix.OpenVerifiedDirectory(root, root + "/link-to-real", out _));
    }

    [Fact]
    public async Task ConcurrentOpenIf_CreatesOnce_OthersOpenTheSameFile()
    {
        var tree = await TempShare.ConnectAsync(_share.Build(["posix"]));
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            await tree.OpenAsync("race.txt", CreateDisposition.OpenIf, CreateOptions.NonDirectoryFile, AccessMask.FileGenericWrite))));
        Assert.All(results, r => Assert.Equal(NtStatus.Success, r.Status));
        Assert.Single(results, r => r.Value!.Action == CreateAction.Created);
        Assert.Single(results.Select(r => r.Value!.File.FileId).Distinct());
        foreach (var r in results) await tree.Ops.CloseAsync(r.Value!.File);
        await tree.DisposeAsync();
    }

    [Fact]
    public void FileTime_RoundTrips()
    {
        var ft = new DateTimeOffset(2024, 2, 29, 12, 0, 0, TimeSpan.Zero).ToFileTime() + 1234567;
        var (sec, nsec) = FileTime.ToUnix(ft);
        Assert.Equal(ft, FileTime.FromUnix(sec, nsec));
        Assert.Equal(FileTime.UnixEpoch, FileTime.FromUnix(0, 0));
        var (s2, n2) = FileTime.ToUnix(FileTime.UnixEpoch - 1);
        Assert.Equal(-1, s2);
        Assert.Equal(999_999_900, n2);
    }
}
