using CaStorage.Core;
using CaStorage.Vfs.Modules;
using CaStorage.Vfs.Posix;
using CaStorage.Vfs.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace CaStorage.Vfs.Tests;

public sealed class RegistryAndBuilderTests : IAsyncLifetime
{
    private TempShare _share = null!;

    public Task InitializeAsync()
    {
        _share = TempShare.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _share.DisposeAsync();

    private static VfsModuleRegistry Registry() => VfsModuleRegistry.CreateDefault(NullLoggerFactory.Instance, TimeProvider.System);

    private VfsConfigurationException BuildFails(IReadOnlyList<string> modules, Dictionary<string, string>? options = null, VfsModuleRegistry? registry = null) =>
        Assert.Throws<VfsConfigurationException>(() => new VfsStackBuilder(registry ?? Registry()).Build("s", _share.Root, modules, options));

    [Fact]
    public void Default_RegistersBuiltInModules()
    {
        var r = Registry();
        Assert.Equal(["audit", "posix", "readonly", "recycle"], r.ModuleNames);
        Assert.Contains("repository", r.GetOptionNames("RECYCLE"));
        Assert.Equal(["failure", "priority", "success"], r.GetOptionNames("audit"));
        Assert.Empty(r.GetOptionNames("posix"));
    }

    [Fact]
    public void Build_OrdersModules_FirstNamedIsTop()
    {
        var stack = new VfsStackBuilder(Registry()).Build("s", _share.Root, ["audit", "recycle", "readonly", "posix"], null);
        Assert.IsType<AuditVfsModule>(stack.Top);
        Assert.Collection(stack.Modules,
            m => Assert.IsType<AuditVfsModule>(m),
            m => Assert.IsType<RecycleVfsModule>(m),
            m => Assert.IsType<ReadOnlyVfsModule>(m),
            m => Assert.IsType<PosixVfsModule>(m));
        Assert.Equal("s", stack.ShareName);
        Assert.True(stack.SupportsDurableReopen);
    }

    [Fact]
    public async Task Calls_FlowFromFirstToLast()
    {
        var calls = new List<string>();
        var registry = Registry();
        registry.Register("first", _ => new Recorder("first", calls), []);
        registry.Register("second", _ => new Recorder("second", calls), []);
        var stack = new VfsStackBuilder(registry).Build("s", _share.Root, ["first", "second", "posix"], null);
        var tree = await TempShare.ConnectAsync(stack);
        await tree.Ops.StatAsync(tree, "", CancellationToken.None);
        Assert.Equal(["first:connect", "second:connect", "first:stat", "second:stat"], calls);
        await tree.DisposeAsync();
    }

    [Fact]
    public void UnknownModule_Rejected()
    {
        var ex = BuildFails(["audit", "nosuch", "posix"]);
        Assert.Contains("unknown VFS module 'nosuch'", ex.Message);
        Assert.Contains("posix", ex.Message);
    }

    [Fact]
    public void EmptyStack_Rejected() => Assert.Contains("empty", BuildFails([]).Message);

    [Fact]
    public void LastModuleNotOpaque_Rejected() =>
        Assert.Contains("not opaque", BuildFails(["audit", "recycle"]).Message);

    [Fact]
    public void OpaqueModuleNotLast_Rejected() =>
        Assert.Contains("must be the last", BuildFails(["posix", "audit"]).Message);

    [Fact]
    public void DuplicateModule_Rejected() =>
        Assert.Contains("more than once", BuildFails(["audit", "audit", "posix"]).Message);

    [Fact]
    public void UnknownOption_Rejected()
    {
        var ex = BuildFails(["recycle", "posix"], new() { ["recycle:repositroy"] = ".trash" });
        Assert.Contains("unknown option 'recycle:repositroy'", ex.Message);
        Assert.Contains("recycle:repository", ex.Message);
    }

    [Fact]
    public void OptionForModuleNotInStack_Rejected() =>
        Assert.Contains("not in this share's stack", BuildFails(["posix"], new() { ["recycle:repository"] = ".trash" }).Message);

    [Fact]
    public void OptionForUnknownModule_Rejected() =>
        Assert.Contains("no such module", BuildFails(["posix"], new() { ["fruit:encoding"] = "native" }).Message);

    [Theory]
    [InlineData("repository")]
    [InlineData(":repository")]
    [InlineData("recycle:")]
    public void MalformedOptionKey_Rejected(string key) =>
        Assert.Contains("module:option", BuildFails(["recycle", "posix"], new() { [key] = "x" }).Message);

    [Fact]
    public void OptionsAndModuleNames_AreCaseInsensitive()
    {
        var stack = new VfsStackBuilder(Registry()).Build("s", _share.Root, ["Recycle", "POSIX"],
            new Dictionary<string, string> { ["RECYCLE:Repository"] = "Bin", ["recycle:KeepTree"] = "yes" });
        var recycle = Assert.IsType<RecycleVfsModule>(stack.Top);
        Assert.Equal("Bin", recycle.Options.Repository);
        Assert.True(recycle.Options.KeepTree);
    }

    [Fact]
    public void PosixNeedsAnAbsoluteRoot() =>
        Assert.Throws<VfsConfigurationException>(() => new VfsStackBuilder(Registry()).Build("s", "relative/path", ["posix"]));

    [Fact]
    public void Register_DuplicateOrInvalidNames_Throw()
    {
        var r = Registry();
        Assert.Throws<InvalidOperationException>(() => r.Register("POSIX", _ => new Recorder("x", []), []));
        Assert.Throws<ArgumentException>(() => r.Register("bad:name", _ => new Recorder("x", []), []));
        Assert.Throws<ArgumentException>(() => r.Register("ok", _ => new Recorder("x", []), ["bad:option"]));
    }

    [Fact]
    public void FactoryFailure_IsAConfigurationError()
    {
        var r = Registry();
        r.Register("broken", _ => throw new ArgumentException("boom"), []);
        var ex = BuildFails(["broken", "posix"], registry: r);
        Assert.Contains("boom", ex.Message);
    }

    [Fact]
    public void TransparentModule_CannotJoinTwoStacks()
    {
        var shared = new Recorder("shared", []);
        var r = Registry();
        r.Register("shared", _ => shared, []);
        new VfsStackBuilder(r).Build("s1", _share.Root, ["shared", "posix"]);
        Assert.Throws<InvalidOperationException>(() => new VfsStackBuilder(r).Build("s2", _share.Root, ["shared", "posix"]));
    }

    [Fact]
    public void DurableReopen_RequiresEveryModule()
    {
        var r = Registry();
        r.Register("volatile", _ => new Recorder("volatile", [], durable: false), []);
        var stack = new VfsStackBuilder(r).Build("s", _share.Root, ["audit", "volatile", "posix"]);
        Assert.False(stack.SupportsDurableReopen);
        Assert.False(stack.Top.SupportsDurableReopen);
    }

    [Fact]
    public void ContextSizes_ParseLikeSamba()
    {
        Assert.True(VfsModuleContext.TryParseSize("1024", out var a) && a == 1024);
        Assert.True(VfsModuleContext.TryParseSize("4k", out var b) && b == 4096);
        Assert.True(VfsModuleContext.TryParseSize("2MB", out var c) && c == 2 << 20);
        Assert.True(VfsModuleContext.TryParseSize(" 1G ", out var d) && d == 1 << 30);
        Assert.False(VfsModuleContext.TryParseSize("-1", out _));
        Assert.False(VfsModuleContext.TryParseSize("1X", out _));
        Assert.False(VfsModuleContext.TryParseSize("99999999999P", out _));
    }

    private sealed class Recorder(string name, List<string> calls, bool durable = true) : TransparentVfsModule
    {
        public override ValueTask<NtStatus> ConnectAsync(VfsTreeContext tree, CancellationToken ct)
        {
            calls.Add(name + ":connect");
            return Next.ConnectAsync(tree, ct);
        }

        public override ValueTask<VfsResult<VfsFileInfo>> StatAsync(VfsTreeContext tree, string path, CancellationToken ct)
        {
            calls.Add(name + ":stat");
            return Next.StatAsync(tree, path, ct);
        }

        public override bool SupportsDurableReopen => durable && Next.SupportsDurableReopen;
    }
}
