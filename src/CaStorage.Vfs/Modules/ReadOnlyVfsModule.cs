using CaStorage.Core;
using Microsoft.Extensions.Logging;

namespace CaStorage.Vfs.Modules;

/// <summary>
/// Makes a share read-only ("readonly" module), following what Samba does for "read only = yes":
/// <list type="bullet">
/// <item>Open: a request for any write-type access (FILE_WRITE_DATA, FILE_APPEND_DATA, FILE_WRITE_EA,
///   FILE_WRITE_ATTRIBUTES, FILE_DELETE_CHILD, DELETE, WRITE_DAC, WRITE_OWNER, or their GENERIC forms) is
///   AccessDenied: Samba removes these bits from the share's access mask (create_share_access_mask) and
///   smbd_calculate_access_mask refuses them. Overwrite/OverwriteIf/Supersede of an existing file (a truncate)
///   is AccessDenied (open_file: O_TRUNC on a read-only share). A disposition that would create a missing file
///   is AccessDenied too — Samba fails the parent's FILE_ADD_FILE check for the same reason; we follow Samba
///   rather than answering MediaWriteProtected here. Create on an existing file still reports
///   ObjectNameCollision, OpenIf on an existing file opens it read-only, and MAXIMUM_ALLOWED is narrowed to
///   read/execute.</item>
/// <item>Every mutating operation on a handle or path (write, set end-of-file/allocation, set basic info,
///   rename, unlink, set security, set EAs, server-side copy, set sparse, zero a range) is MediaWriteProtected, as Samba answers for
///   renames and sparse changes on a read-only share (can_rename, file_set_sparse) and for writes to
///   read-only snapshots.</item>
/// <item>The placement tag passes: it is the state tier's note of where a file's state lives, not the share's
///   data, and every node must agree on it whether or not its stack is read-only.</item>
/// </list>
/// </summary>
public sealed class ReadOnlyVfsModule : TransparentVfsModule
{
    public const string ModuleName = "readonly";
    public static readonly IReadOnlyCollection<string> OptionNames = [];

    private const AccessMask WriteAccess = AccessMask.FileWriteData | AccessMask.FileAppendData | AccessMask.FileWriteEa
        | AccessMask.FileWriteAttributes | AccessMask.FileDeleteChild | AccessMask.Delete | AccessMask.WriteDac | AccessMask.WriteOwner;

    private readonly ILogger _logger;
    private readonly string _shareName;

    public ReadOnlyVfsModule(VfsModuleContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _logger = context.LoggerFactory.CreateLogger<ReadOnlyVfsModule>();
        _shareName = context.ShareName;
    }

    public override async ValueTask<VfsResult<VfsOpenResult>> OpenAsync(VfsTreeContext tree, VfsOpenRequest request, CancellationToken ct)
    {
        var access = request.Access.MapGeneric();
        if ((access & WriteAccess) != 0 || (request.Options & CreateOptions.DeleteOnClose) != 0) return Refuse("open", request.Path, NtStatus.AccessDenied);
        if ((access & AccessMask.MaximumAllowed) != 0)
        {
            request = request with { Access = (access & ~AccessMask.MaximumAllowed) | AccessMask.FileGenericRead | AccessMask.FileGenericExecute };
        }
        if (request.Disposition == CreateDisposition.Open) return await Next.OpenAsync(tree, request, ct).ConfigureAwait(false);

        var stat = await Next.StatAsync(tree, request.Path, ct).ConfigureAwait(false);
        if (stat.IsSuccess)
        {
            return request.Disposition switch
            {
                CreateDisposition.Overwrite or CreateDisposition.OverwriteIf or CreateDisposition.Supersede when !stat.Value!.IsDirectory
                    => Refuse("open", request.Path, NtStatus.AccessDenied),
                _ => await Next.OpenAsync(tree, request, ct).ConfigureAwait(false), // Create: collision; OpenIf: open; dir: type errors
            };
        }
        if (stat.Status == NtStatus.ObjectNameNotFound)
        {
            return request.Disposition == CreateDisposition.Overwrite
                ? NtStatus.ObjectNameNotFound
                : Refuse("create", request.Path, NtStatus.AccessDenied);
        }
        return stat.Status;
    }

    public override ValueTask<VfsResult<int>> WriteAsync(VfsFile file, long offset, ReadOnlyMemory<byte> data, bool writeThrough, CancellationToken ct) =>
        ValueTask.FromResult<VfsResult<int>>(Refuse("write", file.Path));

    public override ValueTask<NtStatus> SetEndOfFileAsync(VfsFile file, long length, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("set-end-of-file", file.Path));

    public override ValueTask<NtStatus> SetAllocationSizeAsync(VfsFile file, long size, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("set-allocation-size", file.Path));

    public override ValueTask<NtStatus> SetBasicInfoAsync(VfsFile file, VfsBasicInfo info, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("set-basic-info", file.Path));

    public override ValueTask<NtStatus> RenameAsync(VfsFile file, string newPath, bool replaceIfExists, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("rename", file.Path));

    public override ValueTask<NtStatus> RenamePathAsync(VfsTreeContext tree, string oldPath, string newPath, bool replaceIfExists, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("rename", oldPath));

    public override ValueTask<NtStatus> UnlinkAsync(VfsTreeContext tree, string path, bool isDirectory, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("unlink", path));

    public override ValueTask<NtStatus> SetSecurityAsync(VfsFile file, uint securityInformation, ReadOnlyMemory<byte> descriptor, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("set-security", file.Path));

    public override ValueTask<NtStatus> SetEasAsync(VfsFile file, IReadOnlyList<VfsEa> eas, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("set-eas", file.Path));

    public override ValueTask<VfsResult<long>> CopyRangeAsync(VfsFile source, long sourceOffset, VfsFile target, long targetOffset, long length, CancellationToken ct) =>
        ValueTask.FromResult<VfsResult<long>>(Refuse("copy-range", target.Path));

    public override ValueTask<NtStatus> SetSparseAsync(VfsFile file, bool sparse, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("set-sparse", file.Path));

    public override ValueTask<NtStatus> ZeroRangeAsync(VfsFile file, long offset, long length, CancellationToken ct) =>
        ValueTask.FromResult(Refuse("zero-range", file.Path));

    private NtStatus Refuse(string operation, string path, NtStatus status = NtStatus.MediaWriteProtected)
    {
        VfsLog.ReadOnlyRefused(_logger, operation, _shareName, path, status.ToWireName());
        return status;
    }
}
