using CaStorage.Core;
using Microsoft.Extensions.Logging;

namespace CaStorage.Vfs.Modules;

/// <summary>The operations the audit module can name in "audit:success" and "audit:failure".</summary>
public enum VfsOperation
{
    Connect, Disconnect, FsInfo, Stat, Open, Close, Read, Write, Flush, Fstat, SetEndOfFile, SetAllocationSize,
    SetBasicInfo, Enumerate, Rename, RenamePath, Unlink, GetSecurity, SetSecurity, ListStreams, GetEas, SetEas, CopyRange,
    SetSparse, QueryAllocatedRanges, ZeroRange,
}

/// <summary>
/// Options of the audit module (after vfs_full_audit):
/// <c>audit:success</c> and <c>audit:failure</c> — operations to log when they succeed / fail: "all" (default),
/// "none", or a list of operation names (<see cref="VfsOperation"/>, case-insensitive) separated by '|', ',' or ';';
/// <c>audit:priority</c> — the log level: a .NET level name (Trace, Debug, Information, Warning, Error, Critical)
/// or a syslog name (debug, info, notice, warning, err, crit, alert, emerg); default Information (Samba's NOTICE).
/// </summary>
public sealed record AuditOptions(IReadOnlySet<VfsOperation> Success, IReadOnlySet<VfsOperation> Failure, LogLevel Level)
{
    public static readonly IReadOnlyCollection<string> OptionNames = ["success", "failure", "priority"];

    private static readonly IReadOnlySet<VfsOperation> All = Enum.GetValues<VfsOperation>().ToHashSet();

    public static AuditOptions FromContext(VfsModuleContext context) => new(
        ParseOps(context, "success"),
        ParseOps(context, "failure"),
        ParseLevel(context));

    private static IReadOnlySet<VfsOperation> ParseOps(VfsModuleContext context, string option)
    {
        var raw = context.GetString(option);
        if (raw is null) return All;
        var items = context.GetList(option);
        if (items.Count == 1 && items[0].Equals("all", StringComparison.OrdinalIgnoreCase)) return All;
        if (items.Count == 0 || items.Count == 1 && items[0].Equals("none", StringComparison.OrdinalIgnoreCase)) return new HashSet<VfsOperation>();
        var set = new HashSet<VfsOperation>();
        foreach (var item in items)
        {
            if (!Enum.TryParse<VfsOperation>(item, ignoreCase: true, out var op) || !Enum.IsDefined(op))
            {
                throw context.Invalid(option, raw, $"'all', 'none' or operation names from: {string.Join(", ", Enum.GetNames<VfsOperation>())}");
            }
            set.Add(op);
        }
        return set;
    }

    private static LogLevel ParseLevel(VfsModuleContext context)
    {
        var raw = context.GetString("priority");
        if (raw is null) return LogLevel.Information;
        return raw.Trim().ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "information" or "info" or "notice" => LogLevel.Information,
            "warning" or "warn" => LogLevel.Warning,
            "error" or "err" => LogLevel.Error,
            "critical" or "crit" or "alert" or "emerg" => LogLevel.Critical,
            _ => throw context.Invalid("priority", raw, "a log level (Trace, Debug, Information, Warning, Error, Critical) or syslog name"),
        };
    }
}

/// <summary>
/// Logs every operation with user, share, path and resulting status (after Samba's vfs_full_audit), then
/// returns exactly what the next module returned. An exception from below is logged and rethrown.
/// </summary>
public sealed class AuditVfsModule : TransparentVfsModule
{
    public const string ModuleName = "audit";

    private readonly ILogger _logger;

    public AuditVfsModule(VfsModuleContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Options = AuditOptions.FromContext(context);
        _logger = context.LoggerFactory.CreateLogger("CaStorage.Vfs.Audit");
    }

    public AuditOptions Options { get; }

    public override async ValueTask<NtStatus> ConnectAsync(VfsTreeContext tree, CancellationToken ct)
    {
        try
        {
            var s = await Next.ConnectAsync(tree, ct).ConfigureAwait(false);
            Log(VfsOperation.Connect, tree, "", s);
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.Connect, tree, "", ex)) { throw; }
    }

    public override async ValueTask DisconnectAsync(VfsTreeContext tree)
    {
        try
        {
            await Next.DisconnectAsync(tree).ConfigureAwait(false);
            Log(VfsOperation.Disconnect, tree, "", NtStatus.Success);
        }
        catch (Exception ex) when (LogException(VfsOperation.Disconnect, tree, "", ex)) { throw; }
    }

    public override async ValueTask<VfsResult<VfsFsInfo>> GetFsInfoAsync(VfsTreeContext tree, CancellationToken ct)
    {
        try
        {
            var r = await Next.GetFsInfoAsync(tree, ct).ConfigureAwait(false);
            Log(VfsOperation.FsInfo, tree, "", r.Status);
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.FsInfo, tree, "", ex)) { throw; }
    }

    public override async ValueTask<VfsResult<VfsFileInfo>> StatAsync(VfsTreeContext tree, string path, CancellationToken ct)
    {
        try
        {
            var r = await Next.StatAsync(tree, path, ct).ConfigureAwait(false);
            Log(VfsOperation.Stat, tree, path, r.Status);
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.Stat, tree, path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<VfsOpenResult>> OpenAsync(VfsTreeContext tree, VfsOpenRequest request, CancellationToken ct)
    {
        try
        {
            var r = await Next.OpenAsync(tree, request, ct).ConfigureAwait(false);
            Log(VfsOperation.Open, tree, request.Path, r.Status,
                r.IsSuccess ? $" disposition={request.Disposition} access=0x{(uint)request.Access:X8} action={r.Value!.Action}"
                            : $" disposition={request.Disposition} access=0x{(uint)request.Access:X8}");
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.Open, tree, request.Path, ex)) { throw; }
    }

    public override async ValueTask CloseAsync(VfsFile file)
    {
        try
        {
            await Next.CloseAsync(file).ConfigureAwait(false);
            Log(VfsOperation.Close, file.Tree, file.Path, NtStatus.Success);
        }
        catch (Exception ex) when (LogException(VfsOperation.Close, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<int>> ReadAsync(VfsFile file, long offset, Memory<byte> buffer, CancellationToken ct)
    {
        try
        {
            var r = await Next.ReadAsync(file, offset, buffer, ct).ConfigureAwait(false);
            Log(VfsOperation.Read, file.Tree, file.Path, r.Status, r.IsSuccess ? $" offset={offset} bytes={r.Value}" : $" offset={offset}");
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.Read, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<int>> WriteAsync(VfsFile file, long offset, ReadOnlyMemory<byte> data, bool writeThrough, CancellationToken ct)
    {
        try
        {
            var r = await Next.WriteAsync(file, offset, data, writeThrough, ct).ConfigureAwait(false);
            Log(VfsOperation.Write, file.Tree, file.Path, r.Status, $" offset={offset} bytes={data.Length}");
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.Write, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> FlushAsync(VfsFile file, CancellationToken ct)
    {
        try
        {
            var s = await Next.FlushAsync(file, ct).ConfigureAwait(false);
            Log(VfsOperation.Flush, file.Tree, file.Path, s);
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.Flush, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<VfsFileInfo>> FstatAsync(VfsFile file, CancellationToken ct)
    {
        try
        {
            var r = await Next.FstatAsync(file, ct).ConfigureAwait(false);
            Log(VfsOperation.Fstat, file.Tree, file.Path, r.Status);
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.Fstat, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> SetEndOfFileAsync(VfsFile file, long length, CancellationToken ct)
    {
        try
        {
            var s = await Next.SetEndOfFileAsync(file, length, ct).ConfigureAwait(false);
            Log(VfsOperation.SetEndOfFile, file.Tree, file.Path, s, $" length={length}");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.SetEndOfFile, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> SetAllocationSizeAsync(VfsFile file, long size, CancellationToken ct)
    {
        try
        {
            var s = await Next.SetAllocationSizeAsync(file, size, ct).ConfigureAwait(false);
            Log(VfsOperation.SetAllocationSize, file.Tree, file.Path, s, $" size={size}");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.SetAllocationSize, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> SetBasicInfoAsync(VfsFile file, VfsBasicInfo info, CancellationToken ct)
    {
        try
        {
            var s = await Next.SetBasicInfoAsync(file, info, ct).ConfigureAwait(false);
            Log(VfsOperation.SetBasicInfo, file.Tree, file.Path, s, info.Attributes is { } a ? $" attributes={a}" : "");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.SetBasicInfo, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<IReadOnlyList<VfsDirEntry>>> EnumerateAsync(VfsFile directory, CancellationToken ct)
    {
        try
        {
            var r = await Next.EnumerateAsync(directory, ct).ConfigureAwait(false);
            Log(VfsOperation.Enumerate, directory.Tree, directory.Path, r.Status, r.IsSuccess ? $" entries={r.Value!.Count}" : "");
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.Enumerate, directory.Tree, directory.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> RenameAsync(VfsFile file, string newPath, bool replaceIfExists, CancellationToken ct)
    {
        var oldPath = file.Path;
        try
        {
            var s = await Next.RenameAsync(file, newPath, replaceIfExists, ct).ConfigureAwait(false);
            Log(VfsOperation.Rename, file.Tree, oldPath, s, $" to={newPath} replace={replaceIfExists}");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.Rename, file.Tree, oldPath, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> RenamePathAsync(VfsTreeContext tree, string oldPath, string newPath, bool replaceIfExists, CancellationToken ct)
    {
        try
        {
            var s = await Next.RenamePathAsync(tree, oldPath, newPath, replaceIfExists, ct).ConfigureAwait(false);
            Log(VfsOperation.RenamePath, tree, oldPath, s, $" to={newPath} replace={replaceIfExists}");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.RenamePath, tree, oldPath, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> UnlinkAsync(VfsTreeContext tree, string path, bool isDirectory, CancellationToken ct)
    {
        try
        {
            var s = await Next.UnlinkAsync(tree, path, isDirectory, ct).ConfigureAwait(false);
            Log(VfsOperation.Unlink, tree, path, s, isDirectory ? " directory" : "");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.Unlink, tree, path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<byte[]>> GetSecurityAsync(VfsFile file, uint securityInformation, CancellationToken ct)
    {
        try
        {
            var r = await Next.GetSecurityAsync(file, securityInformation, ct).ConfigureAwait(false);
            Log(VfsOperation.GetSecurity, file.Tree, file.Path, r.Status, $" info=0x{securityInformation:X}");
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.GetSecurity, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> SetSecurityAsync(VfsFile file, uint securityInformation, ReadOnlyMemory<byte> descriptor, CancellationToken ct)
    {
        try
        {
            var s = await Next.SetSecurityAsync(file, securityInformation, descriptor, ct).ConfigureAwait(false);
            Log(VfsOperation.SetSecurity, file.Tree, file.Path, s, $" info=0x{securityInformation:X}");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.SetSecurity, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<IReadOnlyList<VfsStreamInfo>>> ListStreamsAsync(VfsFile file, CancellationToken ct)
    {
        try
        {
            var r = await Next.ListStreamsAsync(file, ct).ConfigureAwait(false);
            Log(VfsOperation.ListStreams, file.Tree, file.Path, r.Status);
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.ListStreams, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<IReadOnlyList<VfsEa>>> GetEasAsync(VfsFile file, CancellationToken ct)
    {
        try
        {
            var r = await Next.GetEasAsync(file, ct).ConfigureAwait(false);
            Log(VfsOperation.GetEas, file.Tree, file.Path, r.Status);
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.GetEas, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> SetEasAsync(VfsFile file, IReadOnlyList<VfsEa> eas, CancellationToken ct)
    {
        try
        {
            var s = await Next.SetEasAsync(file, eas, ct).ConfigureAwait(false);
            Log(VfsOperation.SetEas, file.Tree, file.Path, s, $" names={string.Join(",", eas.Select(e => e.Name))}");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.SetEas, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<long>> CopyRangeAsync(VfsFile source, long sourceOffset, VfsFile target, long targetOffset, long length, CancellationToken ct)
    {
        try
        {
            var r = await Next.CopyRangeAsync(source, sourceOffset, target, targetOffset, length, ct).ConfigureAwait(false);
            Log(VfsOperation.CopyRange, target.Tree, target.Path, r.Status,
                $" from={source.Path} source_offset={sourceOffset} target_offset={targetOffset} length={length}" + (r.IsSuccess ? $" copied={r.Value}" : ""));
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.CopyRange, target.Tree, target.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> SetSparseAsync(VfsFile file, bool sparse, CancellationToken ct)
    {
        try
        {
            var s = await Next.SetSparseAsync(file, sparse, ct).ConfigureAwait(false);
            Log(VfsOperation.SetSparse, file.Tree, file.Path, s, sparse ? " sparse=yes" : " sparse=no");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.SetSparse, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<VfsResult<IReadOnlyList<VfsAllocatedRange>>> QueryAllocatedRangesAsync(VfsFile file, long offset, long length, CancellationToken ct)
    {
        try
        {
            var r = await Next.QueryAllocatedRangesAsync(file, offset, length, ct).ConfigureAwait(false);
            Log(VfsOperation.QueryAllocatedRanges, file.Tree, file.Path, r.Status,
                $" offset={offset} length={length}" + (r.IsSuccess ? $" ranges={r.Value!.Count}" : ""));
            return r;
        }
        catch (Exception ex) when (LogException(VfsOperation.QueryAllocatedRanges, file.Tree, file.Path, ex)) { throw; }
    }

    public override async ValueTask<NtStatus> ZeroRangeAsync(VfsFile file, long offset, long length, CancellationToken ct)
    {
        try
        {
            var s = await Next.ZeroRangeAsync(file, offset, length, ct).ConfigureAwait(false);
            Log(VfsOperation.ZeroRange, file.Tree, file.Path, s, $" offset={offset} length={length}");
            return s;
        }
        catch (Exception ex) when (LogException(VfsOperation.ZeroRange, file.Tree, file.Path, ex)) { throw; }
    }

    private void Log(VfsOperation op, VfsTreeContext tree, string path, NtStatus status, string detail = "")
    {
        var wanted = status.IsError() ? Options.Failure.Contains(op) : Options.Success.Contains(op);
        if (!wanted || !_logger.IsEnabled(Options.Level)) return;
        VfsLog.Audit(_logger, Options.Level, op.ToString(), tree.User.Domain, tree.User.Name, tree.ShareName, path, status.ToWireName(), detail);
    }

    private bool LogException(VfsOperation op, VfsTreeContext tree, string path, Exception ex)
    {
        if (Options.Failure.Contains(op)) VfsLog.AuditException(_logger, ex, op.ToString(), tree.User.Domain, tree.User.Name, tree.ShareName, path);
        return false;
    }
}
