using System.Reflection;
using CaStorage.Smb.Server;

namespace CaStorage.Smb.Tests;

/// <summary>The dependency rule of STYLE.md §A, read from the assemblies' references; and the command table's coverage.</summary>
public sealed class ArchitectureTests
{
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["CaStorage.Core"] = [],
        ["CaStorage.Vfs"] = ["CaStorage.Core"],
        ["CaStorage.State"] = ["CaStorage.Core"],
        ["CaStorage.Smb"] = ["CaStorage.Core", "CaStorage.Vfs", "CaStorage.State"],
    };

    [Fact]
    public void ProjectReferences_FollowTheDependencyRule()
    {
        var smb = typeof(SmbServerContext).Assembly;
        var seen = new Dictionary<string, Assembly> { [smb.GetName().Name!] = smb };
        foreach (var r in smb.GetReferencedAssemblies().Where(a => a.Name!.StartsWith("CaStorage.", StringComparison.Ordinal)))
            seen[r.Name!] = Assembly.Load(r);
        Assert.Equal(Allowed.Keys.OrderBy(k => k), seen.Keys.OrderBy(k => k));
        foreach (var (name, asm) in seen)
        {
            var refs = asm.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("CaStorage.", StringComparison.Ordinal));
            foreach (var r in refs) Assert.Contains(r, Allowed[name]);
        }
    }

    [Fact]
    public void CommandTable_HasADescriptorForEveryCommand()
    {
        foreach (var cmd in Enum.GetValues<CaStorage.Smb.Protocol.SmbCommand>())
        {
            Assert.True(CommandTable.TryGet(cmd, out var d), $"{cmd} has no descriptor");
            Assert.Equal(cmd, d.Command);
        }
    }
}
