using CaStorage.Core;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>ECHO (2.2.28).</summary>
internal static class SimpleHandlers
{
    public static ValueTask<NtStatus> EchoAsync(SmbRequest r)
    {
        r.Out.U16(4);
        r.Out.U16(0);
        return ValueTask.FromResult(NtStatus.Success);
    }
}
