using System.Collections.Concurrent;

namespace CaStorage.Vfs;

/// <summary>
/// An open file or directory on this node (Samba's files_struct). Modules attach typed per-open data
/// with SetExtension/GetExtension (VFS_ADD_FSP_EXTENSION), keyed by module instance.
/// </summary>
public sealed class VfsFile
{
    private readonly ConcurrentDictionary<object, object> _extensions = new(ReferenceEqualityComparer.Instance);

    public VfsFile(VfsTreeContext tree, string path, bool isDirectory, ulong fileId)
    {
        Tree = tree;
        Path = path;
        IsDirectory = isDirectory;
        FileId = fileId;
    }

    public VfsTreeContext Tree { get; }

    /// <summary>Share-relative path, backslash separated, as last opened or renamed to.</summary>
    public string Path { get; set; }

    public bool IsDirectory { get; }

    /// <summary>The named data stream this handle is open on (as stored, case kept), or null for the file itself.</summary>
    public string? StreamName { get; init; }

    /// <summary>
    /// The id share modes, oplocks and leases are kept under: <see cref="FileId"/> for the file itself; for a named
    /// stream, which has its own share-mode state on Windows, FileId mixed with a stable hash of the lower-cased
    /// stream name (the same on every node).
    /// </summary>
    public ulong ShareModeId => StreamName is null ? FileId : StreamShareModeId(FileId, StreamName);

    public static ulong StreamShareModeId(ulong fileId, string streamName) =>
        fileId ^ CaStorage.Core.StableHash.Of(streamName.ToLowerInvariant());

    /// <summary>Stable id within the share (inode): the FileId half of the FileKey.</summary>
    public ulong FileId { get; }

    public T GetExtension<T>(object module) where T : class =>
        _extensions.TryGetValue(module, out var v) ? (T)v : throw new InvalidOperationException($"no file extension for {module.GetType().Name}");

    public T? TryGetExtension<T>(object module) where T : class => _extensions.TryGetValue(module, out var v) ? v as T : null;

    public void SetExtension<T>(object module, T value) where T : class => _extensions[module] = value;

    public void RemoveExtension(object module) => _extensions.TryRemove(module, out _);
}
