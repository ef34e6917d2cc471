using System.Globalization;

namespace CaStorage.Cli;

/// <summary>
/// Session ids and persistent FileIds are 64-bit: tables print them as 0x-prefixed hex, JSON (protobuf's mapping)
/// as decimal strings; either form is accepted back.
/// </summary>
internal static class Ids
{
    public static string Format(ulong id) => $"0x{id:x16}";

    public static bool TryParse(string text, out ulong id)
    {
        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id);
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }
}
