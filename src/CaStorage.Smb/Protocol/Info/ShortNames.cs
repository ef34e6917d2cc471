using CaStorage.Core;

namespace CaStorage.Smb.Protocol.Info;

/// <summary>
/// 8.3 names for FileAlternateNameInformation: a valid 8.3 name stands for itself (upper-cased); any other name gets
/// a stable mangled form NAME~XXX.EXT derived from a hash of the long name (as Samba's "mangled names").
/// </summary>
internal static class ShortNames
{
    public static string Of(string name)
    {
        if (name.Length == 0) return "";
        if (IsValid83(name)) return name.ToUpperInvariant();
        var dot = name.LastIndexOf('.');
        var stem = Clean(dot > 0 ? name[..dot] : name);
        var ext = dot > 0 ? Clean(name[(dot + 1)..]) : "";
        if (stem.Length > 4) stem = stem[..4];
        if (ext.Length > 3) ext = ext[..3];
        var hash = StableHash.Of(name) % (36 * 36 * 36);
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        var h = $"{alphabet[(int)(hash / 1296)]}{alphabet[(int)(hash / 36 % 36)]}{alphabet[(int)(hash % 36)]}";
        return ext.Length > 0 ? $"{stem}~{h}.{ext}" : $"{stem}~{h}";
    }

    private static string Clean(string s) => new(s.ToUpperInvariant().Where(c => c < 128 && (char.IsLetterOrDigit(c) || c is '_' or '-')).ToArray());

    internal static bool IsValid83(string name)
    {
        if (name is "." or "..") return true;
        var dot = name.IndexOf('.');
        var stem = dot < 0 ? name : name[..dot];
        var ext = dot < 0 ? "" : name[(dot + 1)..];
        if (stem.Length is 0 or > 8 || ext.Length > 3 || ext.Contains('.')) return false;
        return name.All(c => c < 128 && c != ' ' && "\"*+,/:;<=>?[\\]|".IndexOf(c) < 0);
    }
}
