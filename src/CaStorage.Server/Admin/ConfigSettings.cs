using System.Text.Json;
using System.Text.Json.Nodes;
using CaStorage.Server.Configuration;

namespace CaStorage.Server;

/// <summary>
/// The effective configuration as flat "Section:Key" settings (the .NET configuration form), for GetConfig.
/// Secrets are redacted; shares are reported separately.
/// </summary>
internal static class ConfigSettings
{
    private static readonly string[] SecretNames = ["NtHash", "Token", "Password", "ConnectionString"];

    public static IReadOnlyList<KeyValuePair<string, string>> Flatten(CaStorageOptions options, string dataDir)
    {
        var node = JsonSerializer.SerializeToNode(options) ?? new JsonObject();
        if (node is JsonObject o)
        {
            o.Remove(nameof(CaStorageOptions.Shares));
            o[nameof(CaStorageOptions.DataDirectory)] = dataDir;
        }
        var result = new List<KeyValuePair<string, string>>();
        Walk(node, "", result);
        return result;
    }

    private static void Walk(JsonNode? node, string prefix, List<KeyValuePair<string, string>> result)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj) Walk(child, prefix.Length == 0 ? key : $"{prefix}:{key}", result);
                break;
            case JsonArray arr:
                for (var i = 0; i < arr.Count; i++) Walk(arr[i], $"{prefix}:{i}", result);
                break;
            case null:
                break;
            default:
                var name = prefix[(prefix.LastIndexOf(':') + 1)..];
                var secret = SecretNames.Contains(name, StringComparer.OrdinalIgnoreCase);
                var value = node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
                result.Add(new(prefix, secret && value.Length > 0 ? "(redacted)" : value));
                break;
        }
    }
}
