namespace CaStorage.Core;

/// <summary>
/// Cluster-wide identity of a file: the share and a stable id from the VFS (e.g. the inode).
/// Never includes a device number or a path, so renames move no state and every node agrees.
/// </summary>
public readonly record struct FileKey(string Share, ulong FileId)
{
    public override string ToString() => $"{Share}:{FileId:x}";
}
