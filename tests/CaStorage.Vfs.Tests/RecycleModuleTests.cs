using CaStorage.Core;
using CaStorage.Vfs.Modules;
using CaStorage.Vfs.Tests.Support;

namespace CaStorage.Vfs.Tests;

public sealed class RecycleModuleTests : IAsyncLifetime
{
    private TempShare _share = null!;
    private static CancellationToken Ct => CancellationToken.None;

    public Task InitializeAsync()
    {
        _share = TempShare.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _share.DisposeAsync();

    private async Task<VfsTreeContext> Connect(Dictionary<string, string>? options = null, TimeProvider? time = null, VfsUser? user = null) =>
        await TempShare.ConnectAsync(_share.Build(["recycle", "posix"], options, time: time), user);

    [Fact]
    public async Task Unlink_MovesFileIntoDefaultRepository()
    {
        var tree = await Connect();
        await tree.CreateDirectoryAsync("docs");
        await tree.CreateFileAsync("docs\\report.txt", "v1");
        Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "docs\\report.txt", false, Ct));
        Assert.False(File.Exists(_share.InRoot("docs/report.txt")));
        Assert.Equal("v1", File.ReadAllText(_share.InRoot(".recycle/report.txt")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task KeepTree_KeepsTheDirectoryPath()
    {
        var tree = await Connect(new() { ["recycle:keeptree"] = "yes", ["recycle:repository"] = "Trash/%U" });
        await tree.CreateDirectoryAsync("a");
        await tree.CreateDirectoryAsync("a\\b");
        await tree.CreateFileAsync("a\\b\\f.txt", "x");
        Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "a\\b\\f.txt", false, Ct));
        Assert.True(File.Exists(_share.InRoot("Trash/alice/a/b/f.txt")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task WithoutVersions_ANewerDeleteReplacesTheOldCopy()
    {
        var tree = await Connect();
        await tree.CreateFileAsync("same.txt", "old");
        await tree.Ops.UnlinkAsync(tree, "same.txt", false, Ct);
        await tree.CreateFileAsync("same.txt", "new");
        await tree.Ops.UnlinkAsync(tree, "same.txt", false, Ct);
        Assert.Equal("new", File.ReadAllText(_share.InRoot(".recycle/same.txt")));
        Assert.Single(Directory.GetFiles(_share.InRoot(".recycle")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task Versions_KeepsCopies()
    {
        var tree = await Connect(new() { ["recycle:versions"] = "true", ["recycle:noversions"] = "*.log" });
        foreach (var content in new[] { "1", "2", "3" })
        {
            await tree.CreateFileAsync("v.txt", content);
            Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "v.txt", false, Ct));
            await tree.CreateFileAsync("x.log", content);
            Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "x.log", false, Ct));
        }
        Assert.Equal("1", File.ReadAllText(_share.InRoot(".recycle/v.txt")));
        Assert.Equal("2", File.ReadAllText(_share.InRoot(".recycle/Copy #1 of v.txt")));
        Assert.Equal("3", File.ReadAllText(_share.InRoot(".recycle/Copy #2 of v.txt")));
        Assert.Equal("3", File.ReadAllText(_share.InRoot(".recycle/x.log")));
        Assert.False(File.Exists(_share.InRoot(".recycle/Copy #1 of x.log")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task Exclude_And_ExcludeDir_DeleteForGood()
    {
        var tree = await Connect(new() { ["recycle:exclude"] = "*.tmp|~$*", ["recycle:exclude_dir"] = "cache, scratch" });
        await tree.CreateFileAsync("a.TMP", "t");
        await tree.CreateFileAsync("~$doc.docx", "t");
        await tree.CreateDirectoryAsync("Cache");
        await tree.CreateFileAsync("Cache\\c.bin", "c");
        await tree.CreateFileAsync("keep.txt", "k");
        foreach (var p in new[] { "a.TMP", "~$doc.docx", "Cache\\c.bin", "keep.txt" })
            Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, p, false, Ct));
        Assert.Equal([".recycle/keep.txt"], Directory.GetFiles(_share.InRoot(".recycle")).Select(p => Path.GetRelativePath(_share.Root, p)));
        Assert.False(File.Exists(_share.InRoot("a.TMP")));
        Assert.False(File.Exists(_share.InRoot("Cache/c.bin")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task MaxSize_And_MinSize_DeleteForGood()
    {
        var tree = await Connect(new() { ["recycle:maxsize"] = "1K", ["recycle:minsize"] = "2" });
        await tree.CreateFileAsync("big.bin", new string('b', 2000));
        await tree.CreateFileAsync("tiny.bin", "t");
        await tree.CreateFileAsync("mid.bin", "middle");
        foreach (var p in new[] { "big.bin", "tiny.bin", "mid.bin" })
            Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, p, false, Ct));
        Assert.Equal(["mid.bin"], Directory.GetFiles(_share.InRoot(".recycle")).Select(p => Path.GetFileName(p)));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task FileInsideRepository_IsReallyDeleted()
    {
        var tree = await Connect();
        await tree.CreateFileAsync("r.txt", "r");
        await tree.Ops.UnlinkAsync(tree, "r.txt", false, Ct);
        Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, ".RECYCLE\\r.txt", false, Ct));
        Assert.Empty(Directory.GetFileSystemEntries(_share.InRoot(".recycle")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task Directories_AreReallyRemoved()
    {
        var tree = await Connect();
        await tree.CreateDirectoryAsync("emptydir");
        Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "emptydir", true, Ct));
        Assert.False(Directory.Exists(_share.InRoot("emptydir")));
        Assert.False(Directory.Exists(_share.InRoot(".recycle")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task Errors_AreThoseOfTheModuleBelow()
    {
        var tree = await Connect();
        Assert.Equal(NtStatus.ObjectNameNotFound, await tree.Ops.UnlinkAsync(tree, "missing.txt", false, Ct));
        Assert.Equal(NtStatus.ObjectPathNotFound, await tree.Ops.UnlinkAsync(tree, "missing\\x.txt", false, Ct));
        Assert.Equal(NtStatus.ObjectPathSyntaxBad, await tree.Ops.UnlinkAsync(tree, "..\\x.txt", false, Ct));
        await tree.CreateDirectoryAsync("d");
        Assert.Equal(NtStatus.FileIsADirectory, await tree.Ops.UnlinkAsync(tree, "d", false, Ct));
        Assert.False(Directory.Exists(_share.InRoot(".recycle")));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task Touch_SetsAccessTime_TouchMtime_AlsoWriteTime()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var tree = await Connect(new() { ["recycle:touch"] = "yes", ["recycle:touch_mtime"] = "yes" }, clock);
        await tree.CreateFileAsync("touched.txt", "t");
        File.SetLastWriteTimeUtc(_share.InRoot("touched.txt"), new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        await tree.Ops.UnlinkAsync(tree, "touched.txt", false, Ct);
        var info = (await tree.Ops.StatAsync(tree, ".recycle\\touched.txt", Ct)).Value!;
        Assert.Equal(clock.Now.ToFileTime(), info.LastAccessTime);
        Assert.Equal(clock.Now.ToFileTime(), info.LastWriteTime);
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task EmptyRepository_DisablesRecycling()
    {
        var tree = await Connect(new() { ["recycle:repository"] = "" });
        await tree.CreateFileAsync("e.txt");
        Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "e.txt", false, Ct));
        Assert.Empty(Directory.GetFileSystemEntries(_share.Root));
        await tree.DisposeAsync();
    }

    [Fact]
    public async Task RepositoryBlockedByAFile_DeletesForGood()
    {
        var tree = await Connect();
        await tree.CreateFileAsync(".recycle", "i am a file");
        await tree.CreateFileAsync("victim.txt");
        Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "victim.txt", false, Ct));
        Assert.False(File.Exists(_share.InRoot("victim.txt")));
        Assert.Equal("i am a file", File.ReadAllText(_share.InRoot(".recycle")));
        await tree.DisposeAsync();
    }

    [Theory]
    [InlineData("recycle:repository", "../outside")]
    [InlineData("recycle:repository", "/abs/path")]
    [InlineData("recycle:repository", "bad*name")]
    [InlineData("recycle:maxsize", "lots")]
    [InlineData("recycle:keeptree", "maybe")]
    public void InvalidOptions_AreRejected(string key, string value)
    {
        var ex = Assert.Throws<VfsConfigurationException>(() => _share.Build(["recycle", "posix"], new Dictionary<string, string> { [key] = value }));
        Assert.Contains(key, ex.Message);
    }

    [Theory]
    [InlineData("*.tmp", "A.TMP", true)]
    [InlineData("*.tmp", "a.tmpx", false)]
    [InlineData("~$*", "~$doc", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    [InlineData("*", "", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    public void Wildcard_Matches(string pattern, string name, bool expected) => Assert.Equal(expected, Wildcard.IsMatch(pattern, name));
}
