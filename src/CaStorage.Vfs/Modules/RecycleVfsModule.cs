using CaStorage.Core;
using CaStorage.Vfs.Posix;
using Microsoft.Extensions.Logging;

namespace CaStorage.Vfs.Modules;

/// <summary>
/// Options of the recycle module (after Samba's vfs_recycle; list values separated by '|', ',' or ';'):
/// <c>recycle:repository</c> (".recycle"; relative to the share root, '/' or '\' separated; %U, %D and %S are
/// replaced by the user, domain and share; empty disables recycling), <c>recycle:keeptree</c> (keep the
/// file's directory path inside the repository), <c>recycle:versions</c> (keep older copies as "Copy #N of name"
/// instead of replacing them), <c>recycle:touch</c> / <c>recycle:touch_mtime</c> (set the access / also the write
/// time of the recycled file to now), <c>recycle:exclude</c> (file-name wildcards deleted for good),
/// <c>recycle:exclude_dir</c> (directory-name wildcards: files below them are deleted for good),
/// <c>recycle:noversions</c> (wildcards never versioned), <c>recycle:maxsize</c> / <c>recycle:minsize</c>
/// (files larger / smaller than this are deleted for good; sizes accept K, M, G, T suffixes; 0 = no limit).
/// </summary>
public sealed record RecycleOptions(
    string Repository,
    bool KeepTree,
    bool Versions,
    bool Touch,
    bool TouchMtime,
    IReadOnlyList<string> Exclude,
    IReadOnlyList<string> ExcludeDir,
    IReadOnlyList<string> NoVersions,
    long MaxSize,
    long MinSize)
{
    public static readonly IReadOnlyCollection<string> OptionNames =
        ["repository", "keeptree", "versions", "touch", "touch_mtime", "exclude", "exclude_dir", "noversions", "maxsize", "minsize"];

    public static RecycleOptions FromContext(VfsModuleContext context)
    {
        var repository = context.GetString("repository", ".recycle").Trim().Replace('/', '\\');
        if (repository.Length > 0)
        {
            if (repository.StartsWith('\\') || (repository.Length >= 2 && repository[1] == ':'))
                throw context.Invalid("repository", repository, "a path relative to the share root");
            var probe = RecycleVfsModule.Substitute(repository, "user", "domain", "share");
            if (PathSafety.TryParse(probe, out var parsed) != NtStatus.Success || parsed.IsRoot)
                throw context.Invalid("repository", repository, "a valid path inside the share (no '..' above the root, no wildcards or streams)");
        }
        var maxSize = context.GetSize("maxsize") ?? 0;
        var minSize = context.GetSize("minsize") ?? 0;
        return new RecycleOptions(
            repository,
            context.GetBool("keeptree", false),
            context.GetBool("versions", false),
            context.GetBool("touch", false),
            context.GetBool("touch_mtime", false),
            context.GetList("exclude"),
            context.GetList("exclude_dir"),
            context.GetList("noversions"),
            maxSize,
            minSize);
    }
}

/// <summary>
/// A recycle bin (after Samba's vfs_recycle): unlinking a file moves it into the repository instead of deleting
/// it. Directories, files already inside the repository, excluded files and files outside the size limits are
/// deleted for good. If the repository cannot be created or the move fails, the file is deleted, as Samba does.
/// </summary>
public sealed class RecycleVfsModule : TransparentVfsModule
{
    public const string ModuleName = "recycle";
    private const int MaxVersions = 10_000;

    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public RecycleVfsModule(VfsModuleContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Options = RecycleOptions.FromContext(context);
        _logger = context.LoggerFactory.CreateLogger<RecycleVfsModule>();
        _time = context.TimeProvider;
    }

    public RecycleOptions Options { get; }

    internal static string Substitute(string template, string user, string domain, string share) =>
        template.Replace("%U", user, StringComparison.Ordinal)
            .Replace("%D", domain, StringComparison.Ordinal)
            .Replace("%S", share, StringComparison.Ordinal);

    public override async ValueTask<NtStatus> UnlinkAsync(VfsTreeContext tree, string path, bool isDirectory, CancellationToken ct)
    {
        if (isDirectory || Options.Repository.Length == 0) return await Next.UnlinkAsync(tree, path, isDirectory, ct).ConfigureAwait(false);

        // Malformed paths go straight to the next module, which returns the right status.
        // A named stream is removed in place (its data goes with the file only when the file is recycled).
        if (PathSafety.TryParse(path, out var file) != NtStatus.Success || file.IsRoot || file.IsStream)
            return await Next.UnlinkAsync(tree, path, isDirectory, ct).ConfigureAwait(false);
        if (PathSafety.TryParse(Substitute(Options.Repository, tree.User.Name, tree.User.Domain, tree.ShareName), out var repository) != NtStatus.Success
            || repository.IsRoot)
        {
            return await Purge(tree, path, "the recycle repository is not a valid path for this user", ct).ConfigureAwait(false);
        }

        if (StartsWith(file, repository)) return await Purge(tree, path, "it is inside the recycle repository", ct).ConfigureAwait(false);

        var stat = await Next.StatAsync(tree, path, ct).ConfigureAwait(false);
        if (!stat.IsSuccess) return await Next.UnlinkAsync(tree, path, isDirectory, ct).ConfigureAwait(false); // the real status
        if (stat.Value!.IsDirectory) return await Next.UnlinkAsync(tree, path, isDirectory, ct).ConfigureAwait(false);
        var size = stat.Value.EndOfFile;
        if (Options.MaxSize > 0 && size > Options.MaxSize) return await Purge(tree, path, "larger than recycle:maxsize", ct).ConfigureAwait(false);
        if (Options.MinSize > 0 && size < Options.MinSize) return await Purge(tree, path, "smaller than recycle:minsize", ct).ConfigureAwait(false);

        var baseName = file.Name;
        var dirs = file.Components.Take(file.Components.Count - 1).ToArray();
        if (Wildcard.MatchesAny(Options.Exclude, baseName)) return await Purge(tree, path, "matches recycle:exclude", ct).ConfigureAwait(false);
        if (dirs.Any(d => Wildcard.MatchesAny(Options.ExcludeDir, d))) return await Purge(tree, path, "in a directory matching recycle:exclude_dir", ct).ConfigureAwait(false);

        var targetDir = Options.KeepTree ? repository.Components.Concat(dirs).ToArray() : repository.Components.ToArray();
        if (!await EnsureDirectory(tree, targetDir, ct).ConfigureAwait(false))
            return await Purge(tree, path, "the recycle repository could not be created", ct).ConfigureAwait(false);

        var dir = string.Join('\\', targetDir);
        var target = dir + "\\" + baseName;
        if (await IsFile(tree, target, ct).ConfigureAwait(false)
            && (!Options.Versions || Wildcard.MatchesAny(Options.NoVersions, baseName)))
        {
            await Next.UnlinkAsync(tree, target, false, ct).ConfigureAwait(false); // replace the older copy
        }
        for (var i = 1; await Exists(tree, target, ct).ConfigureAwait(false); i++)
        {
            if (i > MaxVersions) return await Purge(tree, path, "too many versions in the recycle repository", ct).ConfigureAwait(false);
            target = $"{dir}\\Copy #{i} of {baseName}";
        }

        var moved = await Next.RenamePathAsync(tree, path, target, replaceIfExists: false, ct).ConfigureAwait(false);
        if (moved == NtStatus.Cancelled) return moved;
        if (moved != NtStatus.Success)
        {
            VfsLog.RecycleMoveFailed(_logger, tree.ShareName, path, target, moved.ToWireName());
            return await Next.UnlinkAsync(tree, path, isDirectory, ct).ConfigureAwait(false);
        }
        VfsLog.RecycleMoved(_logger, tree.ShareName, path, target);
        if (Options.Touch || Options.TouchMtime) await TouchAsync(tree, target, ct).ConfigureAwait(false);
        return NtStatus.Success;
    }

    private async ValueTask<NtStatus> Purge(VfsTreeContext tree, string path, string reason, CancellationToken ct)
    {
        VfsLog.RecyclePurged(_logger, tree.ShareName, path, reason);
        return await Next.UnlinkAsync(tree, path, false, ct).ConfigureAwait(false);
    }

    private static bool StartsWith(VfsPath path, VfsPath prefix)
    {
        if (path.Components.Count < prefix.Components.Count) return false;
        for (var i = 0; i < prefix.Components.Count; i++)
        {
            if (!string.Equals(path.Components[i], prefix.Components[i], StringComparison.OrdinalIgnoreCase)) return false;
        }
        return true;
    }

    private async ValueTask<bool> EnsureDirectory(VfsTreeContext tree, IReadOnlyList<string> components, CancellationToken ct)
    {
        for (var i = 1; i <= components.Count; i++)
        {
            var path = string.Join('\\', components.Take(i));
            var stat = await Next.StatAsync(tree, path, ct).ConfigureAwait(false);
            if (stat.IsSuccess)
            {
                if (!stat.Value!.IsDirectory) return false;
                continue;
            }
            if (stat.Status != NtStatus.ObjectNameNotFound) return false;
            var open = await Next.OpenAsync(tree, new VfsOpenRequest
            {
                Path = path,
                Disposition = CreateDisposition.OpenIf,
                Options = CreateOptions.DirectoryFile,
                Access = AccessMask.FileReadAttributes | AccessMask.Synchronize,
            }, ct).ConfigureAwait(false);
            if (!open.IsSuccess) return false;
            await Next.CloseAsync(open.Value!.File).ConfigureAwait(false);
        }
        return true;
    }

    private async ValueTask<bool> Exists(VfsTreeContext tree, string path, CancellationToken ct) =>
        (await Next.StatAsync(tree, path, ct).ConfigureAwait(false)).IsSuccess;

    private async ValueTask<bool> IsFile(VfsTreeContext tree, string path, CancellationToken ct)
    {
        var stat = await Next.StatAsync(tree, path, ct).ConfigureAwait(false);
        return stat.IsSuccess && !stat.Value!.IsDirectory;
    }

    private async ValueTask TouchAsync(VfsTreeContext tree, string path, CancellationToken ct)
    {
        var open = await Next.OpenAsync(tree, new VfsOpenRequest
        {
            Path = path,
            Disposition = CreateDisposition.Open,
            Options = CreateOptions.NonDirectoryFile,
            Access = AccessMask.FileWriteAttributes | AccessMask.FileReadAttributes,
        }, ct).ConfigureAwait(false);
        if (!open.IsSuccess) return;
        try
        {
            var now = _time.GetUtcNow().ToFileTime();
            await Next.SetBasicInfoAsync(open.Value!.File,
                new VfsBasicInfo(null, now, Options.TouchMtime ? now : null, null, null), ct).ConfigureAwait(false);
        }
        finally
        {
            await Next.CloseAsync(open.Value!.File).ConfigureAwait(false);
        }
    }
}
