using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Protocol.Info;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.15/2.2.16 CLOSE (3.3.5.10).</summary>
internal static class CloseHandler
{
    private const ushort PostQueryAttrib = 0x0001;

    /// <summary>Request: StructureSize(24) Flags Reserved(4) FileId(16).</summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        SmbReader.TryU16(r.Span, SmbHeader.Size + 2, out var flags);
        VfsFileInfo? info = null;
        if ((flags & PostQueryAttrib) != 0)
        {
            var q = await open.Tree.Vfs.Ops.FstatAsync(open.File, CancellationToken.None).ConfigureAwait(false);
            if (q.IsSuccess) info = q.Value;
        }
        var deleted = await c.CloseOpenAsync(open).ConfigureAwait(false);
        if (deleted) info = null;

        // Response: StructureSize(60) Flags Reserved(4) CreationTime LastAccessTime LastWriteTime ChangeTime
        // AllocationSize EndOfFile FileAttributes.
        var o = r.Out;
        o.U16(60);
        o.U16(info is null ? (ushort)0 : PostQueryAttrib);
        o.U32(0);
        if (info is null)
        {
            o.Reserve(52);
        }
        else
        {
            // FileNetworkOpenInformation without its trailing reserved field.
            InfoEncoder.NetworkOpen(o, info);
            o.SetLength(o.Length - 4);
        }
        return NtStatus.Success;
    }
}
