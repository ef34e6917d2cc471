using CaStorage.Core;
using CaStorage.State;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server;

/// <summary>
/// The state tier's key of a file: the share and the VFS's share-mode id, and in a cluster the file's home shard
/// (<see cref="FileHome"/>), agreed among the nodes through the VFS's placement tag. Every key of a file is built
/// here, so every node and every path (CREATE, a rename's target and parent) names a file alike.
/// </summary>
internal static class FileKeys
{
    /// <param name="created">This CREATE made the file: this node proposes one of its own shards.</param>
    public static async ValueTask<FileKey> OfOpenAsync(SmbServerContext server, SmbTreeConnect tree, VfsFile file, bool created, CancellationToken ct)
    {
        var key = new FileKey(tree.Share.Name, file.ShareModeId);
        if (server.FileState.ProposeHome(key, created) is not { } proposed) return key;
        return Homed(key, await tree.Vfs.Ops.PlacementTagAsync(file, (byte)proposed, ct).ConfigureAwait(false));
    }

    /// <summary>The key of a file that is not open here, by path and its VFS id (from a stat).</summary>
    public static async ValueTask<FileKey> OfPathAsync(SmbServerContext server, SmbTreeConnect tree, string path, ulong fileId, CancellationToken ct)
    {
        var key = new FileKey(tree.Share.Name, fileId);
        if (server.FileState.ProposeHome(key, created: false) is not { } proposed) return key;
        return Homed(key, await tree.Vfs.Ops.PlacementTagAsync(tree.Vfs, path, (byte)proposed, ct).ConfigureAwait(false));
    }

    // Without a tag every node places the file by its id's hash.
    private static FileKey Homed(FileKey key, VfsResult<byte> tag) => FileHome.With(key, tag.IsSuccess ? tag.Value : OpenId.ShardOf(key));
}
