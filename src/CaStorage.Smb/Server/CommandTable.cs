using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Server.Handlers;

namespace CaStorage.Smb.Server;

internal delegate ValueTask<NtStatus> CommandHandler(SmbConnection connection, SmbRequest request);

/// <summary>Per-command preconditions, checked before dispatch (Samba's smbd_smb2_table).</summary>
internal readonly record struct CommandDescriptor(SmbCommand Command, ushort StructureSize, bool NeedsSession, bool NeedsTree,
    int FileIdOffset, CommandHandler Handler);

internal static class CommandTable
{
    public const int None = -1;

    private static readonly CommandDescriptor[] Table =
    [
        new(SmbCommand.Negotiate, 36, false, false, None, NegotiateHandler.HandleAsync),
        new(SmbCommand.SessionSetup, 25, false, false, None, SessionSetupHandler.HandleAsync),
        new(SmbCommand.Logoff, 4, true, false, None, SessionSetupHandler.LogoffAsync),
        new(SmbCommand.TreeConnect, 9, true, false, None, TreeConnectHandler.ConnectAsync),
        new(SmbCommand.TreeDisconnect, 4, true, true, None, TreeConnectHandler.DisconnectAsync),
        new(SmbCommand.Create, 57, true, true, None, CreateHandler.HandleAsync),
        new(SmbCommand.Close, 24, true, true, 8, CloseHandler.HandleAsync),
        new(SmbCommand.Flush, 24, true, true, 8, ReadWriteHandler.FlushAsync),
        new(SmbCommand.Read, 49, true, true, 16, ReadWriteHandler.ReadAsync),
        new(SmbCommand.Write, 49, true, true, 16, ReadWriteHandler.WriteAsync),
        new(SmbCommand.Lock, 48, true, true, 8, LockHandler.HandleAsync),
        new(SmbCommand.Ioctl, 57, true, true, 8, IoctlHandler.HandleAsync),
        new(SmbCommand.Cancel, 4, false, false, None, static (_, _) => ValueTask.FromResult(NtStatus.Success)),
        new(SmbCommand.Echo, 4, false, false, None, static (_, r) => SimpleHandlers.EchoAsync(r)),
        new(SmbCommand.QueryDirectory, 33, true, true, 8, QueryDirectoryHandler.HandleAsync),
        new(SmbCommand.ChangeNotify, 32, true, true, 8, ChangeNotifyHandler.HandleAsync),
        new(SmbCommand.QueryInfo, 41, true, true, 24, QueryInfoHandler.HandleAsync),
        new(SmbCommand.SetInfo, 33, true, true, 16, SetInfoHandler.HandleAsync),
        // Oplock (24) and lease (36) acknowledgements share the command: the handler checks the size and the tree.
        new(SmbCommand.OplockBreak, 0, true, false, None, OplockBreakHandler.HandleAsync),
    ];

    public static bool TryGet(SmbCommand command, out CommandDescriptor descriptor)
    {
        var i = (int)command;
        if (i >= 0 && i < Table.Length) { descriptor = Table[i]; return true; }
        descriptor = default;
        return false;
    }

    public static IReadOnlyList<CommandDescriptor> All => Table;
}
