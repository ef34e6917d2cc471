using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>
/// FSCTL_GET_COMPRESSION / FSCTL_SET_COMPRESSION (MS-FSCC 2.3.12/2.3.61). Shares do not report
/// FILE_FILE_COMPRESSION, so, like Windows Server 2016 ReFS and Samba (bso#12144), every file reads as
/// COMPRESSION_FORMAT_NONE, setting NONE succeeds and any other format is STATUS_NOT_SUPPORTED.
/// </summary>
internal static partial class IoctlHandler
{
    /// <summary>Windows does not check FILE_READ_ATTRIBUTES here (smb2.ioctl.compress_perms), nor do we.</summary>
    private static NtStatus GetCompression(SmbConnection c, SmbRequest r, uint maxOut, ResponseBuffer o)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out _);
        if (st != NtStatus.Success) return st;
        if (maxOut < CompressionState.Size) return NtStatus.BufferTooSmall;
        o.U16(CompressionState.FormatNone);
        return NtStatus.Success;
    }

    /// <summary>Needs FILE_WRITE_DATA (FILE_WRITE_ATTRIBUTES is not required), then a COMPRESSION_STATE.</summary>
    private static NtStatus SetCompression(SmbConnection c, SmbRequest r, ReadOnlySpan<byte> input)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteData)) return NtStatus.AccessDenied;
        if (!CompressionState.TryDecode(input, out var format)) return NtStatus.InvalidParameter;
        return format == CompressionState.FormatNone ? NtStatus.Success : NtStatus.NotSupported;
    }
}
