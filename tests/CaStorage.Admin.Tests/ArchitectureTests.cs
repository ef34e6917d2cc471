using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace CaStorage.Admin.Tests;

/// <summary>STYLE.md §A for the admin side: Rpc → Core; Admin → Core, State, Cluster, Rpc; Cli (castorctl) → Rpc.</summary>
public sealed class ArchitectureTests
{
    [Theory]
    [InlineData("CaStorage.Rpc", new[] { "CaStorage.Core" })]
    [InlineData("CaStorage.Admin", new[] { "CaStorage.Core", "CaStorage.State", "CaStorage.Cluster", "CaStorage.Rpc" })]
    public void ProjectReferences_FollowTheDependencyRule(string assembly, string[] allowed)
    {
        var refs = Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("CaStorage.", StringComparison.Ordinal));
        foreach (var r in refs) Assert.Contains(r, allowed);
    }

    [Fact]
    public void Castorctl_ReferencesOnlyRpc()
    {
        // castorctl is an executable this project does not reference (its admin message classes would clash with the
        // Admin project's): read its references from the built file, in the configuration these tests were built in.
        var here = Path.GetDirectoryName(typeof(ArchitectureTests).Assembly.Location)!;
        var configuration = new DirectoryInfo(here).Parent!.Name; // bin/<Configuration>/net10.0
        var repo = FindRepoRoot(here);
        var path = Path.Combine(repo, "src", "CaStorage.Cli", "bin", configuration, "net10.0", "castorctl.dll");
        Assert.True(File.Exists(path), $"castorctl not built: {path}");
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var refs = md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name)).Where(n => n.StartsWith("CaStorage.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["CaStorage.Rpc"], refs);
    }

    private static string FindRepoRoot(string from)
    {
        for (var d = new DirectoryInfo(from); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "CaStorage.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("CaStorage.sln not found above " + from);
    }
}
