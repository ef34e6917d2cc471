using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Server.Handlers;

namespace CaStorage.Smb.Server;

/// <summary>Frame processing: SMB1 negotiate upgrade, compound chains, preconditions, signing, credits.</summary>
internal sealed partial class SmbConnection
{
    /// <summary>The node's cluster membership (owner prefix) when this connection was accepted.</summary>
    private readonly string _servedUnder;

    /// <summary>
    /// The owner tag of this connection's opens: "node#incarnation/connection" in a cluster (breaks are routed by it),
    /// the connection id alone on one node. Fixed at accept: a connection belongs to one membership of its node.
    /// </summary>
    internal string Owner { get; }

    /// <summary>False once the node fenced itself and joined again: this connection is then never served.</summary>
    internal bool OfCurrentMembership => Server.OwnerPrefix == _servedUnder;

    private async Task ProcessFrameAsync(byte[] frame, int len)
    {
        // A connection of a former cluster membership of this node (it fenced itself and joined again) is never served:
        // its requests may have waited in the socket while the node was paused and its shards moved.
        if (Server.Serving is { } serving && (!await serving(Closed).ConfigureAwait(false) || !OfCurrentMembership))
            throw new SmbConnectionErrorException("this node is fenced from the cluster: the client must reconnect elsewhere");
        ReadOnlySpan<byte> span = frame.AsSpan(0, len);
        if (len >= 4 && span[0] == 0xFF && span[1] == (byte)'S' && span[2] == (byte)'M' && span[3] == (byte)'B')
        {
            HandleSmb1Negotiate(frame, len);
            return;
        }
        if (len >= 4 && span[0] == 0xFD && span[1] == (byte)'S' && span[2] == (byte)'M' && span[3] == (byte)'B')
        {
            await ProcessTransformAsync(frame, len).ConfigureAwait(false);
            return;
        }
        if (len >= 4 && span[0] == 0xFD) throw new SmbConnectionErrorException("malformed transform header");
        if (len >= 4 && span[0] == 0xFC) throw new SmbConnectionErrorException("compression transform received but compression was not negotiated");
        await ProcessSmb2FrameAsync(frame, len).ConfigureAwait(false);
    }

    /// <param name="encryptedBy">The session whose key decrypted the frame (null when it came unencrypted).</param>
    private async Task ProcessSmb2FrameAsync(byte[] frame, int len, SmbSession? encryptedBy = null)
    {

        var output = new ResponseBuffer(4096);
        output.Reserve(4); // Direct TCP header
        output.AlignmentOrigin = 4;
        var compound = new CompoundState();
        var toSign = new List<(int Start, SmbSession Session, bool SessionKey)>(1);
        var afterResponse = new List<(int Start, SpanAction Action)>(0);
        var responses = new List<int>(1);
        // Asynchronous work starts only once this frame (its interim responses) is queued: work that completes at once
        // must not get its final response out before its interim one (MS-SMB2 3.3.4.2).
        var startAfterSend = new List<Action>(0);
        try
        {
            var off = 0;
            var prevStart = -1;
            while (true)
            {
                if (!SmbHeader.TryRead(frame.AsSpan(off, len - off), out var h))
                    throw new SmbConnectionErrorException("malformed SMB2 header");
                int msgLen;
                if (h.NextCommand == 0) msgLen = len - off;
                else if (h.NextCommand < SmbHeader.Size || h.NextCommand % 8 != 0 || off + (long)h.NextCommand > len)
                    throw new SmbConnectionErrorException("bad NextCommand in compound");
                else msgLen = (int)h.NextCommand;

                if (prevStart >= 0)
                {
                    output.Align(8);
                    output.PutU32(prevStart + 20, (uint)(output.Length - prevStart));
                }
                var start = output.Length;
                output.Reserve(SmbHeader.Size);
                var req = new SmbRequest
                {
                    Header = h, Message = frame.AsMemory(off, msgLen), Out = output, ResponseStart = start, Compound = compound, EncryptedBy = encryptedBy,
                };
                var (respond, signWith) = await DispatchAsync(req).ConfigureAwait(false);
                if (req.StartAsyncWork is { } startWork) startAfterSend.Add(startWork);
                if (respond && req.AfterResponse is { } after) afterResponse.Add((start, after));
                if (!respond)
                {
                    output.SetLength(start);
                    if (prevStart >= 0 && output.Length == start) output.PutU32(prevStart + 20, 0);
                }
                else
                {
                    prevStart = start;
                    responses.Add(start);
                    if (signWith is not null) toSign.Add((start, signWith, req.SignWithSessionKey));
                }
                if (h.NextCommand == 0)
                {
                    // A READ answered last in a compound is padded to 8 bytes too (as Windows and Samba's
                    // smb2_read.c do; smb2.compound.compound-padding); a lone READ is not.
                    if (off > 0 && h.Command == SmbCommand.Read && respond && prevStart == start) output.Align(8);
                    break;
                }
                off += msgLen;
            }
            if (prevStart >= 0) output.PutU32(prevStart + 20, 0);

            int EndOf(int start)
            {
                var idx = responses.IndexOf(start);
                return idx + 1 < responses.Count ? responses[idx + 1] : output.Length;
            }
            if (compound.EncryptWith is { } encryptWith)
            {
                SendEncrypted(output, encryptWith, responses);
                foreach (var (start, action) in afterResponse) action(output.Array.AsSpan(start, EndOf(start) - start));
                return;
            }
            // Each response is signed with the key of this connection's channel of its session (MS-SMB2 3.3.4.1.1).
            foreach (var (start, session, sessionKey) in toSign)
            {
                var message = output.Array.AsSpan(start, EndOf(start) - start);
                if (sessionKey) session.SignWithSessionKey(message);
                else session.Sign(this, message);
            }
            // Preauth integrity hashes the response as sent: after signing (a binding's interim responses are signed).
            foreach (var (start, action) in afterResponse) action(output.Array.AsSpan(start, EndOf(start) - start));
            if (output.Length > 4) Send(output);
        }
        finally
        {
            output.Dispose();
            // Also after a failure: the work then sees the connection closing and only cleans up.
            foreach (var start in startAfterSend) start();
        }
    }

    /// <summary>Runs one command: preconditions, handler, response header. Returns whether to respond and the session to sign with.</summary>
    private async ValueTask<(bool Respond, SmbSession? SignWith)> DispatchAsync(SmbRequest req)
    {
        var h = req.Header;
        if (h.Command == SmbCommand.Cancel)
        {
            // MS-SMB2 3.3.5.16: CANCEL consumes no credit and gets no response.
            HandleCancel(req);
            return (false, null);
        }
        // MS-SMB2 3.3.5.2: before NEGOTIATE completes, anything else ends the connection.
        if (!Negotiated && h.Command != SmbCommand.Negotiate)
            throw new SmbConnectionErrorException($"{h.Command} before NEGOTIATE");
        if (Negotiated && h.Command == SmbCommand.Negotiate)
            throw new SmbConnectionErrorException("second NEGOTIATE on a connection");

        var charge = SupportsMultiCredit ? Math.Max(h.CreditCharge, (ushort)1) : (ushort)1;
        if (!TryConsumeCredits(h.MessageId, charge))
            throw new SmbConnectionErrorException($"message id {h.MessageId} (charge {charge}) outside the credit window");

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var status = await RunHandlerAsync(req, charge).ConfigureAwait(false);
        // The request is no longer outstanding on its open's channel sequence (an async one counts until its interim).
        req.SequencedOpen?.ChannelSequence.Leave(req.Header.ChannelSequence);
        h = req.Header;
        Server.Metrics.RequestCompleted(h.Command, status, System.Diagnostics.Stopwatch.GetTimestamp() - started);

        if (Log.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            SmbLog.RequestCompleted(Log, Id, h.SessionId, h.TreeId, h.MessageId, h.Command.ToString(), status.ToWireName());
        AsyncOperation? pending = null;
        if (status == NtStatus.Pending && req.AsyncContinuation is { } work)
        {
            // Interim response now; the final one comes from the background work (MS-SMB2 3.3.4.2).
            req.Out.SetLength(req.BodyStart);
            pending = StartAsync(req, work);
            h.Flags |= SmbFlags.AsyncCommand;
            h.AsyncId = pending.AsyncId;
        }
        var respBody = req.Out.Length - req.BodyStart;
        if (status != NtStatus.Success && respBody == 0) WriteErrorBody(req);

        var session = req.Session;
        var encrypt = ShouldEncryptResponse(req);
        var sign = session is not null && session.CanSign
            && (h.IsSigned || session.SigningRequired || req.ForceSign) && !req.NoSign && !encrypt;
        var signedFlagOnly = false;
        if (session is null && status == NtStatus.UserSessionDeleted && h.IsSigned && !encrypt)
        {
            // MS-SMB2 3.3.4.1.1: a signed request gets a signed answer. A session of another connection signs it with
            // Session.SigningKey; a session that is gone has no key left, and the answer only keeps SMB2_FLAGS_SIGNED
            // (clients do not check the signature of USER_SESSION_DELETED, but one that requires signing wants the flag).
            if (req.UnboundSession is { } unbound)
            {
                session = unbound;
                sign = true;
            }
            else
            {
                signedFlagOnly = true;
            }
        }
        var rh = h;
        rh.Flags = SmbFlags.ServerToRedir | (h.Flags & (SmbFlags.RelatedOperations | SmbFlags.PriorityMask | SmbFlags.AsyncCommand))
            | (sign || signedFlagOnly ? SmbFlags.Signed : 0);
        rh.NextCommand = 0;
        rh.Credits = GrantCredits(h.Credits, charge);
        rh.SessionId = req.ResponseSessionId != 0 ? req.ResponseSessionId : (session?.Id ?? h.SessionId);
        rh.TreeId = req.ResponseTreeId != 0 ? req.ResponseTreeId : (req.Tree?.Id ?? h.TreeId);
        rh.Status = 0;
        rh.Write(req.Out.Array.AsSpan(req.ResponseStart, SmbHeader.Size), status);

        req.Compound.LastStatus = status;
        req.Compound.SessionId = rh.SessionId;
        req.Compound.TreeId = rh.TreeId;
        if (pending is not null)
        {
            var (interim, signWith, encryptWith) = (rh with { }, sign ? session : null, encrypt ? req.Compound.EncryptWith : null);
            req.StartAsyncWork = () => pending.Start(interim, signWith, encryptWith);
        }
        return (true, sign ? session : null);
    }

    private async ValueTask<NtStatus> RunHandlerAsync(SmbRequest req, ushort charge)
    {
        var h = req.Header;
        if (!CommandTable.TryGet(h.Command, out var d)) return NtStatus.InvalidParameter;
        var msg = req.Span;
        if (msg.Length < SmbHeader.Size + 2 || (d.StructureSize != 0 && BinaryPrimitives.ReadUInt16LittleEndian(msg[SmbHeader.Size..]) != d.StructureSize))
            return NtStatus.InvalidParameter;
        // Fixed part must be present (StructureSize counts one byte of a variable buffer when odd).
        if (msg.Length < SmbHeader.Size + (d.StructureSize & ~1)) return NtStatus.InvalidParameter;

        var compound = req.Compound;
        if (h.IsRelated)
        {
            // MS-SMB2 3.3.5.2.7.2: the first request of a chain cannot be related, and a related request inherits
            // the session and tree of the previous one; without a valid one to inherit it is invalid.
            if (!compound.Started || !compound.SessionValid) return NtStatus.InvalidParameter;
            h.SessionId = compound.SessionId;
            h.TreeId = compound.TreeId;
            req.Header = h;
        }
        else
        {
            // An unrelated request starts a new chain: no FileId is carried over.
            compound.LastOpen = null;
            compound.LastStatus = NtStatus.Success;
        }
        compound.Started = true;
        compound.SessionValid = false;

        if (d.NeedsSession || h.Command == SmbCommand.SessionSetup)
        {
            if (h.SessionId != 0 || d.NeedsSession)
            {
                var binding = false;
                if (!TryGetSession(h.SessionId, out var session))
                {
                    // A binding SESSION_SETUP names a session of another connection (MS-SMB2 3.3.5.5: GlobalSessionTable).
                    if (!TryGetBindingSession(req, out session))
                    {
                        if (h.IsSigned && Server.TryGetSession(h.SessionId, out var unbound) && unbound.CanSign) req.UnboundSession = unbound;
                        return NtStatus.UserSessionDeleted;
                    }
                    binding = true;
                }
                req.Session = session;
                compound.SessionValid = true;
                if (session.State == SessionState.Expired) return NtStatus.NetworkSessionExpired;
                if (session.State == SessionState.InProgress && h.Command != SmbCommand.SessionSetup)
                    return NtStatus.UserSessionDeleted;
                // MS-SMB2 3.3.5.2.4: a decrypted request is not checked for a signature.
                if (!req.IsEncrypted && session.CanSign)
                {
                    if (h.IsSigned)
                    {
                        if (!session.Verify(this, msg))
                        {
                            // A SESSION_SETUP signed with Session.SigningKey where this connection's channel has a key
                            // of its own (a second bind, a reauth from a stale channel) is refused with an answer the
                            // client can check: signed with Session.SigningKey, as it verifies failed setups.
                            if (h.Command == SmbCommand.SessionSetup) req.SignWithSessionKey = true;
                            else req.NoSign = true;
                            return NtStatus.AccessDenied;
                        }
                    }
                    else if (session.SigningRequired && (h.Command != SmbCommand.SessionSetup || session.State == SessionState.Valid))
                    {
                        // Unsigned requests of a session that requires signing, a reauthentication included (Samba).
                        req.NoSign = true;
                        return NtStatus.AccessDenied;
                    }
                }
                // A binding request cannot come encrypted: the channel has no keys yet (it is signed instead).
                var encryption = binding ? NtStatus.Success : CheckSessionEncryption(req, session);
                if (encryption != NtStatus.Success) return encryption;
            }
        }
        if (d.NeedsTree)
        {
            if (req.Session is null || !req.Session.TryGetTree(h.TreeId, out var tree)) return NtStatus.NetworkNameDeleted;
            req.Tree = tree;
            var encryption = CheckTreeEncryption(req, tree);
            if (encryption != NtStatus.Success) return encryption;
        }
        req.Charge = charge;
        try
        {
            return await d.Handler(this, req).ConfigureAwait(false);
        }
        catch (SmbConnectionErrorException)
        {
            throw;
        }
        catch (OperationCanceledException) when (_closed.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            SmbLog.HandlerFault(Log, Id, h.SessionId, h.TreeId, h.MessageId, h.Command.ToString(), ex);
            req.Out.SetLength(req.BodyStart);
            return NtStatus.InternalError;
        }
    }

    /// <summary>MS-SMB2 2.2.2 ERROR response.</summary>
    private static void WriteErrorBody(SmbRequest req)
    {
        var o = req.Out;
        o.U16(9);
        o.U8(0);
        o.U8(0);
        var data = req.ErrorData;
        o.U32((uint)(data?.Length ?? 0));
        if (data is { Length: > 0 }) o.Bytes(data);
        else o.U8(0);
    }

    /// <summary>
    /// An SMB1 NEGOTIATE (MS-SMB2 3.3.5.3.1) offering "SMB 2.002" or "SMB 2.???" is answered with an SMB2 NEGOTIATE
    /// response; anything else ends the connection.
    /// </summary>
    private void HandleSmb1Negotiate(byte[] frame, int len)
    {
        if (Negotiated || len < 35 || frame[4] != 0x72) throw new SmbConnectionErrorException("SMB1 is not supported");
        var byteCount = BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(33));
        if (frame[32] != 0 || 35 + byteCount > len) throw new SmbConnectionErrorException("malformed SMB1 negotiate");
        var dialects = frame.AsSpan(35, byteCount);
        bool wildcard = false, smb202 = false;
        var i = 0;
        while (i < dialects.Length)
        {
            if (dialects[i] != 0x02) break;
            var end = dialects[(i + 1)..].IndexOf((byte)0);
            if (end < 0) break;
            var name = System.Text.Encoding.ASCII.GetString(dialects.Slice(i + 1, end));
            if (name == "SMB 2.???") wildcard = true;
            if (name == "SMB 2.002") smb202 = true;
            i += end + 2;
        }
        if (!wildcard && !smb202) throw new SmbConnectionErrorException("SMB1 negotiate without an SMB2 dialect");
        if (!TryConsumeCredits(0, 1)) throw new SmbConnectionErrorException("credit window");
        var dialect = wildcard && Server.Settings.MaxDialect > SmbDialect.Smb202 ? SmbDialect.Wildcard : SmbDialect.Smb202;
        var output = new ResponseBuffer(512);
        try
        {
            output.Reserve(4);
            output.AlignmentOrigin = 4;
            var start = output.Length;
            output.Reserve(SmbHeader.Size);
            NegotiateHandler.WriteResponse(this, output, start, dialect, contexts: null);
            var h = new SmbHeader { Command = SmbCommand.Negotiate, Flags = SmbFlags.ServerToRedir, Credits = GrantCredits(1, 1) };
            h.Write(output.Array.AsSpan(start, SmbHeader.Size), NtStatus.Success);
            Send(output);
        }
        finally
        {
            output.Dispose();
        }
    }
}
