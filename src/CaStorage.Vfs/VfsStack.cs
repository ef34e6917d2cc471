namespace CaStorage.Vfs;

/// <summary>A share's ordered module stack: Top is called first, the last module is opaque.</summary>
public sealed class VfsStack
{
    public VfsStack(string shareName, string rootPath, IReadOnlyList<IVfsOperations> modules)
    {
        if (modules.Count == 0) throw new ArgumentException("a VFS stack needs at least one module", nameof(modules));
        ShareName = shareName;
        RootPath = rootPath;
        Modules = modules;
    }

    public string ShareName { get; }
    public string RootPath { get; }
    public IReadOnlyList<IVfsOperations> Modules { get; }
    public IVfsOperations Top => Modules[0];

    /// <summary>A share can be continuously available only when every module can reopen by identity.</summary>
    public bool SupportsDurableReopen => Modules.All(m => m.SupportsDurableReopen);
}
