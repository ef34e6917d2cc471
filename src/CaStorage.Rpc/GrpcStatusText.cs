using System.Text;

namespace CaStorage.Rpc;

/// <summary>
/// grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2, "Responses"): bytes outside 0x20–0x7E and '%' itself
/// become %XX, so any message survives an HTTP/2 header field.
/// </summary>
public static class GrpcStatusText
{
    public static string Encode(string message)
    {
        var needs = false;
        foreach (var ch in message)
        {
            if (ch < 0x20 || ch > 0x7E || ch == '%') { needs = true; break; }
        }
        if (!needs) return message;
        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E || b == (byte)'%') sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append((char)b);
        }
        return sb.ToString();
    }

    /// <summary>Decodes %XX sequences; a malformed sequence is kept as it is (the spec asks receivers to be lenient).</summary>
    public static string Decode(string? value)
    {
        if (string.IsNullOrEmpty(value) || !value.Contains('%', StringComparison.Ordinal)) return value ?? "";
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                bytes.Add(Convert.ToByte(value.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                foreach (var b in Encoding.UTF8.GetBytes(value[i].ToString())) bytes.Add(b);
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    public static string NameOf(RpcStatusCode code) => code switch
    {
        RpcStatusCode.OK => "OK",
        RpcStatusCode.Cancelled => "CANCELLED",
        RpcStatusCode.Unknown => "UNKNOWN",
        RpcStatusCode.InvalidArgument => "INVALID_ARGUMENT",
        RpcStatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        RpcStatusCode.NotFound => "NOT_FOUND",
        RpcStatusCode.AlreadyExists => "ALREADY_EXISTS",
        RpcStatusCode.PermissionDenied => "PERMISSION_DENIED",
        RpcStatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        RpcStatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        RpcStatusCode.Aborted => "ABORTED",
        RpcStatusCode.OutOfRange => "OUT_OF_RANGE",
        RpcStatusCode.Unimplemented => "UNIMPLEMENTED",
        RpcStatusCode.Internal => "INTERNAL",
        RpcStatusCode.Unavailable => "UNAVAILABLE",
        RpcStatusCode.DataLoss => "DATA_LOSS",
        RpcStatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
