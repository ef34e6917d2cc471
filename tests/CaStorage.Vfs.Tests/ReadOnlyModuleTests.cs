using CaStorage.Core;
using CaStorage.Vfs.Tests.Support;

namespace CaStorage.Vfs.Tests;

public sealed class ReadOnlyModuleTests : IAsyncLifetime
{
    private TempShare _share = null!;
    private VfsTreeContext _tree = null!;
    private string _before = "";
    private static CancellationToken Ct => CancellationToken.None;

    public async Task InitializeAsync()
    {
        _share = TempShare.Create();
        Directory.CreateDirectory(_share.InRoot("dir"));
        File.WriteAllText(_share.InRoot("file.txt"), "content");
        File.WriteAllText(_share.InRoot("dir/inner.txt"), "inner");
        _tree = await TempShare.ConnectAsync(_share.Build(["readonly", "posix"]));
        _before = Snapshot();
    }

    public async Task DisposeAsync()
    {
        Assert.Equal(_before, Snapshot()); // nothing under the share changed
        await _tree.DisposeAsync();
        await _share.DisposeAsync();
    }

    private string Snapshot() => string.Join("\n", Directory.EnumerateFileSystemEntries(_share.Root, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(p => $"{p}|{(File.Exists(p) ? File.ReadAllText(p) : "<dir>")}|{File.GetLastWriteTimeUtc(p).Ticks}"));

    [Fact]
    public async Task OpenForRead_Succeeds_AndReads()
    {
        var f = await _tree.OpenOkAsync("file.txt", access: AccessMask.FileGenericRead);
        Assert.Equal("content", await _tree.ReadAllTextAsync(f));
        Assert.Equal(NtStatus.Success, (await _tree.Ops.FstatAsync(f, Ct)).Status);
        await _tree.Ops.CloseAsync(f);
    }

    [Theory]
    [InlineData("file.txt:s", CreateDisposition.OpenIf)]
    [InlineData("file.txt:s:$DATA", CreateDisposition.Create)]
    [InlineData("new.txt:s", CreateDisposition.OpenIf)]
    [InlineData("dir:s", CreateDisposition.Supersede)]
    public async Task NamedStream_Create_AccessDenied(string path, CreateDisposition disposition)
    {
        Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync(path, disposition, access: AccessMask.FileGenericRead)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, (await _tree.Ops.StatAsync(_tree, path, Ct)).Status);
    }

    [Fact]
    public async Task NamedStream_OpenForWriteOrUnlink_AccessDenied()
    {
        Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync("file.txt:s", CreateDisposition.Open, access: AccessMask.FileWriteData)).Status);
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.UnlinkAsync(_tree, "file.txt:s", false, Ct));
    }

    [Theory]
    [InlineData(AccessMask.FileWriteData)]
    [InlineData(AccessMask.FileAppendData)]
    [InlineData(AccessMask.FileWriteAttributes)]
    [InlineData(AccessMask.FileWriteEa)]
    [InlineData(AccessMask.Delete)]
    [InlineData(AccessMask.WriteDac)]
    [InlineData(AccessMask.WriteOwner)]
    [InlineData(AccessMask.GenericWrite)]
    [InlineData(AccessMask.GenericAll)]
    public async Task OpenExisting_WithWriteAccess_AccessDenied(AccessMask access) =>
        Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync("file.txt", CreateDisposition.Open, access: access)).Status);

    [Theory]
    [InlineData(CreateDisposition.Overwrite)]
    [InlineData(CreateDisposition.OverwriteIf)]
    [InlineData(CreateDisposition.Supersede)]
    public async Task Truncating_Existing_AccessDenied(CreateDisposition disposition) =>
        Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync("file.txt", disposition, access: AccessMask.FileGenericRead)).Status);

    [Theory]
    [InlineData(CreateDisposition.Create, CreateOptions.None)]
    [InlineData(CreateDisposition.OpenIf, CreateOptions.None)]
    [InlineData(CreateDisposition.OverwriteIf, CreateOptions.None)]
    [InlineData(CreateDisposition.Supersede, CreateOptions.None)]
    [InlineData(CreateDisposition.Create, CreateOptions.DirectoryFile)]
    [InlineData(CreateDisposition.OpenIf, CreateOptions.DirectoryFile)]
    public async Task Creating_Missing_AccessDenied_LikeSamba(CreateDisposition disposition, CreateOptions options) =>
        Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync("new", disposition, options, AccessMask.FileGenericRead)).Status);

    [Fact]
    public async Task DispositionsThatDoNotWrite_BehaveAsUsual()
    {
        Assert.Equal(NtStatus.ObjectNameCollision, (await _tree.OpenAsync("file.txt", CreateDisposition.Create)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, (await _tree.OpenAsync("missing", CreateDisposition.Open)).Status);
        Assert.Equal(NtStatus.ObjectNameNotFound, (await _tree.OpenAsync("missing", CreateDisposition.Overwrite)).Status);
        Assert.Equal(NtStatus.ObjectPathNotFound, (await _tree.OpenAsync("nodir\\x", CreateDisposition.OpenIf)).Status);
        Assert.Equal(NtStatus.ObjectPathSyntaxBad, (await _tree.OpenAsync("..\\x", CreateDisposition.OpenIf)).Status);
        var r = await _tree.OpenAsync("file.txt", CreateDisposition.OpenIf);
        Assert.Equal(CreateAction.Opened, r.Value!.Action);
        await _tree.Ops.CloseAsync(r.Value.File);
        var d = await _tree.OpenAsync("dir", CreateDisposition.OpenIf, CreateOptions.DirectoryFile);
        Assert.Equal(CreateAction.Opened, d.Value!.Action);
        await _tree.Ops.CloseAsync(d.Value.File);
    }

    [Fact]
    public async Task MaximumAllowed_OpensReadOnly()
    {
        var f = await _tree.OpenOkAsync("file.txt", access: AccessMask.MaximumAllowed);
        Assert.Equal("content", await _tree.ReadAllTextAsync(f));
        Assert.Equal(NtStatus.MediaWriteProtected, (await _tree.Ops.WriteAsync(f, 0, new byte[1], false, Ct)).Status);
        await _tree.Ops.CloseAsync(f);
    }

    [Fact]
    public async Task MutatingOperations_MediaWriteProtected()
    {
        var f = await _tree.OpenOkAsync("file.txt", access: AccessMask.FileGenericRead);
        var d = await _tree.OpenOkAsync("dir", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.MediaWriteProtected, (await _tree.Ops.WriteAsync(f, 0, new byte[1], true, Ct)).Status);
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.SetEndOfFileAsync(f, 0, Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.SetAllocationSizeAsync(f, 0, Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.SetBasicInfoAsync(f, new VfsBasicInfo(null, null, 1, null, NtFileAttributes.Hidden), Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.RenameAsync(f, "renamed.txt", false, Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.RenamePathAsync(_tree, "file.txt", "renamed.txt", false, Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.UnlinkAsync(_tree, "file.txt", false, Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.UnlinkAsync(_tree, "dir", true, Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.SetSecurityAsync(f, 4, new byte[20], Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.SetEasAsync(f, [new VfsEa("X", [1])], Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, (await _tree.Ops.CopyRangeAsync(f, 0, f, 0, 1, Ct)).Status);
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.SetSparseAsync(f, true, Ct));
        Assert.Equal(NtStatus.MediaWriteProtected, await _tree.Ops.ZeroRangeAsync(f, 0, 4, Ct));
        Assert.Equal([new VfsAllocatedRange(0, 7)], (await _tree.Ops.QueryAllocatedRangesAsync(f, 0, 100, Ct)).Value!);
        // Reading operations still work.
        Assert.Equal(NtStatus.Success, (await _tree.Ops.EnumerateAsync(d, Ct)).Status);
        Assert.Equal(NtStatus.Success, (await _tree.Ops.GetSecurityAsync(f, 7, Ct)).Status);
        Assert.Equal(NtStatus.Success, (await _tree.Ops.GetEasAsync(f, Ct)).Status);
        Assert.Equal(NtStatus.Success, (await _tree.Ops.ListStreamsAsync(f, Ct)).Status);
        Assert.Equal(NtStatus.Success, (await _tree.Ops.GetFsInfoAsync(_tree, Ct)).Status);
        Assert.Equal(NtStatus.Success, await _tree.Ops.FlushAsync(f, Ct));
        await _tree.Ops.CloseAsync(f);
        await _tree.Ops.CloseAsync(d);
    }

    [Fact]
    public void Stack_StillSupportsDurableReopen() => Assert.True(_tree.Stack.SupportsDurableReopen);
}
