using Microsoft.Extensions.Logging;

namespace CaStorage.Vfs;

/// <summary>Source-generated log messages of the VFS layer (event ids 2000–2999).</summary>
internal static partial class VfsLog
{
    // Audit (vfs_full_audit): the level is the module's "audit:priority".
    [LoggerMessage(EventId = 2000, EventName = "VfsAudit",
        Message = "vfs audit {Operation} user={User} domain={Domain} share={Share} path={Path} status={Status}{Detail}")]
    public static partial void Audit(ILogger logger, LogLevel level, string operation, string domain, string user, string share, string path, string status, string detail);

    [LoggerMessage(EventId = 2001, EventName = "VfsAuditException", Level = LogLevel.Error,
        Message = "vfs audit {Operation} user={User} domain={Domain} share={Share} path={Path} failed with an exception")]
    public static partial void AuditException(ILogger logger, Exception exception, string operation, string domain, string user, string share, string path);

    // posix
    [LoggerMessage(EventId = 2100, EventName = "PosixSymlinkOutsideShare", Level = LogLevel.Warning,
        Message = "refused symlink leading outside the share root: share={Share} path={Path}")]
    public static partial void SymlinkOutsideShare(ILogger logger, string share, string path);

    [LoggerMessage(EventId = 2101, EventName = "PosixDirectoryEscaped", Level = LogLevel.Warning,
        Message = "a directory resolved outside the share root (concurrent rename or symlink swap?): share={Share} directory={Directory}")]
    public static partial void DirectoryEscaped(ILogger logger, string share, string directory);

    [LoggerMessage(EventId = 2102, EventName = "PosixXattrFailed", Level = LogLevel.Debug,
        Message = "extended attribute {Attribute} could not be written: share={Share} path={Path} errno={Errno}")]
    public static partial void XattrFailed(ILogger logger, string attribute, string share, string path, int errno);

    [LoggerMessage(EventId = 2104, EventName = "PosixDescriptorCorrupt", Level = LogLevel.Warning,
        Message = "stored security descriptor is malformed; only Administrators get access until it is set again: share={Share} path={Path}")]
    public static partial void DescriptorCorrupt(ILogger logger, string share, string? path);

    [LoggerMessage(EventId = 2103, EventName = "PosixRootUnavailable", Level = LogLevel.Warning,
        Message = "share root is not an accessible directory: share={Share} root={Root} errno={Errno}")]
    public static partial void RootUnavailable(ILogger logger, string share, string root, int errno);

    // recycle (vfs_recycle)
    [LoggerMessage(EventId = 2200, EventName = "RecycleMoved", Level = LogLevel.Debug,
        Message = "recycle: moved share={Share} path={Path} to {Target}")]
    public static partial void RecycleMoved(ILogger logger, string share, string path, string target);

    [LoggerMessage(EventId = 2201, EventName = "RecyclePurged", Level = LogLevel.Debug,
        Message = "recycle: deleting share={Share} path={Path} for good: {Reason}")]
    public static partial void RecyclePurged(ILogger logger, string share, string path, string reason);

    [LoggerMessage(EventId = 2202, EventName = "RecycleMoveFailed", Level = LogLevel.Warning,
        Message = "recycle: could not move share={Share} path={Path} to {Target} ({Status}); deleting it instead")]
    public static partial void RecycleMoveFailed(ILogger logger, string share, string path, string target, string status);

    // readonly
    [LoggerMessage(EventId = 2300, EventName = "ReadOnlyRefused", Level = LogLevel.Debug,
        Message = "readonly: refused {Operation} share={Share} path={Path} with {Status}")]
    public static partial void ReadOnlyRefused(ILogger logger, string operation, string share, string path, string status);
}
