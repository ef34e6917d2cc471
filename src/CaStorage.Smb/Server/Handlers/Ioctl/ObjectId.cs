using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>FSCTL_CREATE_OR_GET_OBJECT_ID / FSCTL_GET_OBJECT_ID (MS-FSCC 2.3.7, 2.3.21).</summary>
internal static partial class IoctlHandler
{
    private const int ObjectIdBufferSize = 64;

    /// <summary>
    /// FILE_OBJECTID_BUFFER: ObjectId(16) BirthVolumeId(16) BirthObjectId(16) DomainId(16). The object id is derived
    /// from the file's stable identity (share + inode), so every node answers the same for the same file without
    /// storing anything; the volume id is the share's.
    /// </summary>
    private static NtStatus ObjectId(SmbConnection c, SmbRequest r, uint maxOut, ResponseBuffer o)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        if (maxOut < ObjectIdBufferSize) return NtStatus.BufferTooSmall;
        var volume = open.Tree.Share.VolumeId;
        var oid = o.Reserve(ObjectIdBufferSize);
        BitConverter.TryWriteBytes(oid, open.File.FileId);
        BitConverter.TryWriteBytes(oid[8..], volume);
        BitConverter.TryWriteBytes(oid[16..], volume);
        oid[..16].CopyTo(oid[32..]);
        return NtStatus.Success;
    }
}
