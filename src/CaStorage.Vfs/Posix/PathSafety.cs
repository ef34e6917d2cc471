using System.Text;
using CaStorage.Core;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// A wire path after <see cref="PathSafety.TryParse"/>: validated components with "." and ".." resolved,
/// never above the share root. <see cref="IsRoot"/> when no component is left.
/// </summary>
public sealed record VfsPath(IReadOnlyList<string> Components, bool DefaultStream, string? StreamName = null)
{
    public static readonly VfsPath Root = new([], false);

    /// <summary>True for "name:stream" / "name:stream:$DATA" (a named data stream of the last component).</summary>
    public bool IsStream => StreamName is not null;

    public bool IsRoot => Components.Count == 0;

    /// <summary>Last component ("" for the root).</summary>
    public string Name => IsRoot ? "" : Components[^1];

    /// <summary>Backslash-separated share-relative form, "" for the root.</summary>
    public string ShareRelative => string.Join('\\', Components);

    public override string ToString() => ShareRelative;
}

/// <summary>
/// Lexical safety of wire paths (after Samba's check_path_syntax, source3/smbd/smb2_reply.c), done before any
/// file-system access. The posix module then resolves the result on disk (case folding, symlink containment).
/// <list type="bullet">
/// <item>Wire paths are share-relative and backslash-separated; "" is the root. One leading and one trailing
///   backslash are tolerated; a leading "\\" (UNC form) and empty components ("a\\b") are ObjectNameInvalid.</item>
/// <item>'/' is not a separator: like a Windows server we reject it inside a name (ObjectNameInvalid), so an
///   absolute POSIX path can never be smuggled through a component.</item>
/// <item>Control characters (including NUL) and the wildcard/reserved characters <c>" * &lt; &gt; ? |</c> are
///   ObjectNameInvalid, as are lone UTF-16 surrogates, components over 255 UTF-16 units or 255 UTF-8 bytes,
///   and paths over 32767 characters.</item>
/// <item>"." is dropped; ".." removes the previous component; a ".." that would go above the root is
///   ObjectPathSyntaxBad (Samba returns NT_STATUS_OBJECT_PATH_SYNTAX_BAD there).</item>
/// <item>Streams: only on the last component. "name::$DATA" (type compared case-insensitively) means the
///   default data stream; "name:s" or "name:s:$DATA" (also "name:$DATA", a stream named "$DATA") names the data
///   stream "s" (<see cref="VfsPath.StreamName"/>, case kept). Stream names are 1–255 UTF-16 units without
///   control characters, '/', '\' or ':'; any other type, a trailing ':' or a ':' in a directory component
///   ("C:\x") is ObjectNameInvalid.</item>
/// <item>Trailing dots and spaces are kept as part of the name (as Samba does; NTFS via the NT API does too):
///   "a." and "a" are different names.</item>
/// </list>
/// </summary>
public static class PathSafety
{
    public const int MaxPathLength = 32767;
    public const int MaxComponentLength = 255;
    public const int MaxComponentUtf8Bytes = 255;

    /// <summary>Parses and validates a wire path; on failure returns the NTSTATUS to send.</summary>
    public static NtStatus TryParse(string? wirePath, out VfsPath path)
    {
        path = VfsPath.Root;
        if (wirePath is null || wirePath.Length > MaxPathLength) return NtStatus.ObjectNameInvalid;
        if (!IsWellFormedUtf16(wirePath)) return NtStatus.ObjectNameInvalid;

        var s = wirePath.AsSpan();
        if (s.StartsWith("\\\\")) return NtStatus.ObjectNameInvalid; // UNC form: \\server\share
        if (s.Length > 0 && s[0] == '\\') s = s[1..];
        if (s.Length > 0 && s[^1] == '\\') s = s[..^1];
        if (s.Length == 0) return NtStatus.Success;

        var components = new List<string>();
        var defaultStream = false;
        string? streamName = null;
        var start = 0;
        while (start <= s.Length)
        {
            var sep = s[start..].IndexOf('\\');
            var end = sep < 0 ? s.Length : start + sep;
            var raw = s[start..end];
            var last = sep < 0;
            start = end + 1;

            if (raw.Length == 0) return NtStatus.ObjectNameInvalid;

            var name = raw;
            var colon = raw.IndexOf(':');
            if (colon >= 0)
            {
                if (!last) return NtStatus.ObjectNameInvalid;
                name = raw[..colon];
                var streamStatus = ParseStream(raw[(colon + 1)..], out streamName);
                if (streamStatus != NtStatus.Success) return streamStatus;
                // "::$DATA" alone addresses the root directory's data stream; an empty name elsewhere is malformed.
                if (name.Length == 0 && raw.Length != s.Length) return NtStatus.ObjectNameInvalid;
                if (name.SequenceEqual(".") || name.SequenceEqual("..")) return NtStatus.ObjectNameInvalid;
                defaultStream = streamName is null;
                if (name.Length == 0)
                {
                    if (streamName is not null) return NtStatus.ObjectNameInvalid; // ":s" on the share root is not served
                    break;
                }
            }

            if (name.SequenceEqual(".")) { if (last) break; continue; }
            if (name.SequenceEqual(".."))
            {
                if (components.Count == 0) return NtStatus.ObjectPathSyntaxBad;
                components.RemoveAt(components.Count - 1);
                if (last) break;
                continue;
            }

            var st = ValidateComponent(name);
            if (st != NtStatus.Success) return st;
            components.Add(name.ToString());
            if (last) break;
        }

        path = new VfsPath(components, defaultStream, streamName);
        return NtStatus.Success;
    }

    /// <summary>Validates one file name (no separators, no stream suffix).</summary>
    public static NtStatus ValidateComponent(ReadOnlySpan<char> name)
    {
        if (name.Length == 0 || name.Length > MaxComponentLength) return NtStatus.ObjectNameInvalid;
        foreach (var c in name)
        {
            if (c < 0x20) return NtStatus.ObjectNameInvalid;
            switch (c)
            {
                case '"' or '*' or '<' or '>' or '?' or '|' or '/' or '\\' or ':':
                    return NtStatus.ObjectNameInvalid;
            }
        }
        if (!IsWellFormedUtf16(name)) return NtStatus.ObjectNameInvalid;
        if (Encoding.UTF8.GetByteCount(name) > MaxComponentUtf8Bytes) return NtStatus.ObjectNameInvalid;
        return NtStatus.Success;
    }

    /// <summary>True when <paramref name="candidate"/> (an absolute, canonical path) is the root or below it.</summary>
    public static bool IsWithinRoot(string root, string candidate)
    {
        if (root.Length == 0 || candidate.Length == 0) return false;
        var r = root.Length > 1 && root[^1] == '/' ? root[..^1] : root;
        if (string.Equals(candidate, r, StringComparison.Ordinal)) return true;
        if (r == "/") return candidate[0] == '/';
        return candidate.Length > r.Length && candidate[r.Length] == '/' && candidate.StartsWith(r, StringComparison.Ordinal);
    }

    /// <summary>True when the string has no lone UTF-16 surrogates.</summary>
    public static bool IsWellFormedUtf16(ReadOnlySpan<char> s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(c)) return false;
        }
        return true;
    }

    // The part after the first ':' of the last component: "stream" or "stream:type" (stream may be empty).
    // streamName is null for the default data stream.
    private static NtStatus ParseStream(ReadOnlySpan<char> spec, out string? streamName)
    {
        streamName = null;
        if (spec.Length == 0) return NtStatus.ObjectNameInvalid;           // "name:"
        var colon = spec.IndexOf(':');
        var name = colon < 0 ? spec : spec[..colon];
        if (colon >= 0)
        {
            var type = spec[(colon + 1)..];
            if (type.Length == 0 || type.IndexOf(':') >= 0) return NtStatus.ObjectNameInvalid;
            if (!type.Equals("$DATA", StringComparison.OrdinalIgnoreCase)) return NtStatus.ObjectNameInvalid;
        }
        else if (name.Length == 0) return NtStatus.ObjectNameInvalid;
        foreach (var c in name)
        {
            if (c < 0x20 || c is '/' or '\\') return NtStatus.ObjectNameInvalid;
        }
        if (name.Length > MaxComponentLength) return NtStatus.ObjectNameInvalid;
        if (name.Length > 0) streamName = name.ToString();
        return NtStatus.Success;
    }
}
