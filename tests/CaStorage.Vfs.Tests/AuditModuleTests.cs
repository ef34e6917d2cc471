using CaStorage.Core;
using CaStorage.Vfs.Modules;
using CaStorage.Vfs.Tests.Support;
using Microsoft.Extensions.Logging;

namespace CaStorage.Vfs.Tests;

public sealed class AuditModuleTests : IAsyncLifetime
{
    private TempShare _share = null!;
    private readonly ListLoggerProvider _logs = new();
    private static CancellationToken Ct => CancellationToken.None;

    public Task InitializeAsync()
    {
        _share = TempShare.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _share.DisposeAsync();

    private async Task<VfsTreeContext> Connect(Dictionary<string, string>? options = null) =>
        await TempShare.ConnectAsync(_share.Build(["audit", "posix"], options, _logs, shareName: "projects"), new VfsUser("bob", "CORP"));

    private IReadOnlyList<ListLoggerProvider.LogRecord> Audit => _logs.Records.Where(r => r.EventId.Id == 2000).ToArray();

    [Fact]
    public async Task LogsEveryOperation_WithUserSharePathAndStatus()
    {
        var tree = await Connect();
        await tree.CreateFileAsync("notes.txt", "hello");
        Assert.Equal(NtStatus.ObjectNameNotFound, (await tree.OpenAsync("missing.txt")).Status);
        Assert.Equal(NtStatus.Success, await tree.Ops.UnlinkAsync(tree, "notes.txt", false, Ct));
        await tree.DisposeAsync();

        var ops = Audit.Select(r => (string)r.State["Operation"]!).ToArray();
        Assert.Equal(["Connect", "Open", "Write", "Close", "Open", "Unlink", "Disconnect"], ops);
        var open = Audit[1];
        Assert.Equal(LogLevel.Information, open.Level);
        Assert.Equal("bob", open.State["User"]);
        Assert.Equal("CORP", open.State["Domain"]);
        Assert.Equal("projects", open.State["Share"]);
        Assert.Equal("notes.txt", open.State["Path"]);
        Assert.Equal("STATUS_SUCCESS", open.State["Status"]);
        Assert.Contains("action=Created", open.Message);
        Assert.Equal("STATUS_OBJECT_NAME_NOT_FOUND", Audit[4].State["Status"]);
        Assert.Equal("missing.txt", Audit[4].State["Path"]);
    }

    [Fact]
    public async Task LogsSparseOperations()
    {
        var tree = await Connect(new() { ["audit:success"] = "setsparse|queryallocatedranges|zerorange" });
        await tree.CreateFileAsync("s.bin", "data");
        var f = await tree.OpenOkAsync("s.bin");
        Assert.Equal(NtStatus.Success, await tree.Ops.SetSparseAsync(f, true, Ct));
        Assert.Equal(NtStatus.Success, (await tree.Ops.QueryAllocatedRangesAsync(f, 0, 100, Ct)).Status);
        Assert.Equal(NtStatus.Success, await tree.Ops.ZeroRangeAsync(f, 0, 2, Ct));
        await tree.Ops.CloseAsync(f);
        await tree.DisposeAsync();
        Assert.Equal(["SetSparse", "QueryAllocatedRanges", "ZeroRange"], Audit.Select(r => (string)r.State["Operation"]!));
        Assert.Contains("sparse=yes", Audit[0].Message);
        Assert.Contains("ranges=1", Audit[1].Message);
        Assert.Contains("offset=0 length=2", Audit[2].Message);
    }

    [Fact]
    public async Task SuccessNone_FailureList_Priority()
    {
        var tree = await Connect(new() { ["audit:success"] = "none", ["audit:failure"] = "open|unlink", ["audit:priority"] = "WARNING" });
        await tree.CreateFileAsync("a.txt");
        await tree.OpenAsync("nope.txt");
        await tree.Ops.UnlinkAsync(tree, "nope.txt", false, Ct);
        await tree.Ops.StatAsync(tree, "nope.txt", Ct); // a failure, but not listed
        await tree.DisposeAsync();
        Assert.Equal(["Open", "Unlink"], Audit.Select(r => (string)r.State["Operation"]!));
        Assert.All(Audit, r => Assert.Equal(LogLevel.Warning, r.Level));
    }

    [Fact]
    public async Task ResultsPassThroughUnchanged()
    {
        var tree = await Connect();
        await tree.CreateFileAsync("p.txt", "abc");
        var f = await tree.OpenOkAsync("p.txt");
        Assert.Equal("abc", await tree.ReadAllTextAsync(f));
        Assert.Equal(NtStatus.InvalidParameter, await tree.Ops.SetEndOfFileAsync(f, -5, Ct));
        await tree.Ops.CloseAsync(f);
        await tree.DisposeAsync();
        Assert.Contains(Audit, r => (string)r.State["Operation"]! == "SetEndOfFile" && (string)r.State["Status"]! == "STATUS_INVALID_PARAMETER");
    }

    [Theory]
    [InlineData("audit:success", "open,frobnicate")]
    [InlineData("audit:priority", "loud")]
    public void InvalidOptions_AreRejected(string key, string value)
    {
        var ex = Assert.Throws<VfsConfigurationException>(() => _share.Build(["audit", "posix"], new Dictionary<string, string> { [key] = value }));
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public void Options_Parse()
    {
        var stack = _share.Build(["audit", "posix"], new Dictionary<string, string>
        {
            ["AUDIT:Success"] = "Read; write",
            ["audit:failure"] = "all",
            ["audit:priority"] = "debug",
        });
        var audit = Assert.IsType<AuditVfsModule>(stack.Modules[0]);
        Assert.Equal(new HashSet<VfsOperation> { VfsOperation.Read, VfsOperation.Write }, audit.Options.Success);
        Assert.Equal(Enum.GetValues<VfsOperation>().Length, audit.Options.Failure.Count);
        Assert.Equal(LogLevel.Debug, audit.Options.Level);
    }
}
