using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.9/2.2.10 TREE_CONNECT (3.3.5.7) and 2.2.11 TREE_DISCONNECT (3.3.5.8).</summary>
internal static class TreeConnectHandler
{
    private const byte ShareTypeDisk = 0x1, ShareTypePipe = 0x2;
    internal const uint ShareCapContinuousAvailability = 0x10;
    private const uint ShareFlagNoCaching = 0x30, ShareFlagEncryptData = 0x8000;

    /// <summary>Request: StructureSize(9) Flags PathOffset PathLength Buffer ("\\server\share" in UTF-16).</summary>
    public static async ValueTask<NtStatus> ConnectAsync(SmbConnection c, SmbRequest r)
    {
        var m = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU16(m, b + 4, out var pathOff);
        SmbReader.TryU16(m, b + 6, out var pathLen);
        if (pathLen == 0 || !SmbReader.TrySlice(m, pathOff, pathLen, out var start)) return NtStatus.InvalidParameter;
        if (!SmbReader.TryUtf16(m.Slice(start, pathLen), out var path)) return NtStatus.BadNetworkName;
        // "\\server\share": the share is the last component; the server name is not checked (aliases, IPs).
        if (!path.StartsWith(@"\\", StringComparison.Ordinal)) return NtStatus.BadNetworkName;
        var parts = path[2..].Split('\\');
        if (parts.Length != 2 || parts[1].Length == 0) return NtStatus.BadNetworkName;
        var shareName = parts[1];
        var session = r.Session!;

        SmbTreeConnect tree;
        if (string.Equals(shareName, "IPC$", StringComparison.OrdinalIgnoreCase))
        {
            tree = session.AddTree(null, null, isPipe: true);
        }
        else
        {
            if (!c.Server.TryGetShare(shareName, out var share)) return NtStatus.BadNetworkName;
            // Anonymous sessions reach IPC$ only; guests only where guest access is configured.
            if (session.IsAnonymous) return NtStatus.AccessDenied;
            // MS-SMB2 3.3.5.7: Share.EncryptData with RejectUnencryptedAccess refuses sessions that cannot encrypt
            // (2.x dialects, no common cipher, guests without keys).
            if (share.EncryptData && session.Encryption is null) return NtStatus.AccessDenied;
            var vfs = new VfsTreeContext(share.Stack, session.User!);
            var st = await vfs.Ops.ConnectAsync(vfs, c.Closed).ConfigureAwait(false);
            if (st != NtStatus.Success)
            {
                await vfs.DisposeAsync().ConfigureAwait(false);
                return st;
            }
            tree = session.AddTree(share, vfs, isPipe: false);
        }
        SmbLog.TreeConnected(c.Log, c.Id, session.Id, tree.Id, shareName);
        r.Tree = tree;
        r.ResponseTreeId = tree.Id;

        // Response: StructureSize(16) ShareType Reserved ShareFlags Capabilities MaximalAccess.
        var o = r.Out;
        o.U16(16);
        o.U8(tree.IsPipe ? ShareTypePipe : ShareTypeDisk);
        o.U8(0);
        o.U32(tree.IsPipe ? ShareFlagNoCaching : tree.EncryptData ? ShareFlagEncryptData : 0u);
        o.U32(!tree.IsPipe && tree.Share.ContinuouslyAvailable && SmbDialect.Is3x(c.Dialect) ? ShareCapContinuousAvailability : 0u);
        o.U32(tree.MaximalAccess);
        return NtStatus.Success;
    }

    public static async ValueTask<NtStatus> DisconnectAsync(SmbConnection c, SmbRequest r)
    {
        await c.DisconnectTreeAsync(r.Tree!).ConfigureAwait(false);
        r.Out.U16(4);
        r.Out.U16(0);
        return NtStatus.Success;
    }
}
