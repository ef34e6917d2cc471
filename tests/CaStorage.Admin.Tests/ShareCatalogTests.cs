using CaStorage.Admin;
using CaStorage.Server;
using CaStorage.Server.Configuration;
using CaStorage.Smb.Server;
using CaStorage.State;
using CaStorage.Vfs;
using Microsoft.Extensions.Logging.Abstractions;

namespace CaStorage.Admin.Tests;

/// <summary>The host's share catalog: validated like the startup configuration, applied without a restart.</summary>
public sealed class ShareCatalogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("castorage-admin-tests.").FullName;
    private readonly SmbServerContext _server;
    private readonly ShareCatalog _catalog;

    public ShareCatalogTests()
    {
        _server = new SmbServerContext(new SmbServerSettings(), [], new Dictionary<string, byte[]>(), FileStateServices.CreateLocal(),
            NullLoggerFactory.Instance, TimeProvider.System);
        var registry = VfsModuleRegistry.CreateDefault(NullLoggerFactory.Instance, TimeProvider.System);
        _catalog = new ShareCatalog(_server, registry, [new ShareOptions { Name = "share", Path = Path.Combine(_root, "share") }]);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private ShareDefinition Def(string name, string[] vfs, Dictionary<string, string>? options = null, string? path = null) =>
        new(name, path ?? Path.Combine(_root, name), vfs, options ?? [], false, false, false);

    [Fact]
    public void Add_UnknownModule_NamesIt_AndTouchesNothing()
    {
        var ex = Assert.Throws<ShareValidationException>(() => _catalog.Add(Def("x", ["bogus", "posix"])));
        Assert.Contains("unknown VFS module 'bogus'", ex.Message);
        Assert.False(Directory.Exists(Path.Combine(_root, "x")));
        Assert.False(_server.TryGetShare("x", out _));
    }

    [Fact]
    public void Add_UnknownOption_NamesIt()
    {
        var ex = Assert.Throws<ShareValidationException>(() => _catalog.Add(Def("x", ["recycle", "posix"], new() { ["recycle:nope"] = "1" })));
        Assert.Contains("recycle:nope", ex.Message);
    }

    [Theory]
    [InlineData("relative/path")]
    [InlineData("")]
    public void Add_PathMustBeAbsolute(string path) =>
        Assert.Throws<ShareValidationException>(() => _catalog.Add(Def("x", ["posix"], path: path)));

    [Fact]
    public void Add_BadName_IsInvalid() => Assert.Throws<ShareValidationException>(() => _catalog.Add(Def("a/b", ["posix"], path: Path.Combine(_root, "ab"))));

    [Fact]
    public void Add_ThenSet_ThenRemove_ReachesTheServerAtOnce()
    {
        var added = _catalog.Add(Def("docs", ["audit", "posix"]));
        Assert.Equal(["audit", "posix"], added.Vfs);
        Assert.True(_server.TryGetShare("docs", out var live));
        Assert.False(live.ReadOnly);
        Assert.Throws<ShareExistsException>(() => _catalog.Add(Def("docs", ["posix"])));

        _catalog.Set(Def("docs", ["posix"]) with { ReadOnly = true });
        Assert.True(_server.TryGetShare("docs", out live));
        Assert.True(live.ReadOnly);
        Assert.Equal(["posix"], _catalog.List().Single(s => s.Name == "docs").Vfs);

        Assert.Equal(0, _catalog.Remove("docs"));
        Assert.False(_server.TryGetShare("docs", out _));
        Assert.Null(_catalog.Remove("docs"));
        Assert.Throws<KeyNotFoundException>(() => _catalog.Set(Def("docs", ["posix"])));
    }
}
