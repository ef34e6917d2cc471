using CaStorage.Core;

namespace CaStorage.Smb.Security;

/// <summary>
/// Acceptor side of SPNEGO (RFC 4178, MS-SPNG) with NTLMSSP as the only mechanism, driven one
/// SESSION_SETUP round at a time. Also accepts raw NTLMSSP (no SPNEGO wrapping) from clients
/// that send it. The mechListMIC handling follows Samba's gensec_spnego server:
/// <list type="bullet">
/// <item>NTLMSSP first in the client's mechTypes: the optimistic NEGOTIATE is answered with the CHALLENGE (accept-incomplete).</item>
/// <item>NTLMSSP listed later: the optimistic token belongs to another mechanism and is ignored; the reply
///   selects NTLMSSP with negState request-mic and no token (RFC 4178 5: the acceptor's choice is not
///   the initiator's preferred mechanism, so the MIC exchange is mandatory).</item>
/// <item>After AUTHENTICATE, when NTLM integrity is available (a session key and NTLMSSP signing) and
///   either the AUTHENTICATE carried an NTLM MIC or the client sent a mechListMIC, the client's MIC over
///   the DER mechTypes is verified and the server's MIC is returned. If the client has not sent its MIC
///   yet, one more round (accept-incomplete + server MIC) waits for it. As in Samba, request-mic alone
///   does not make the exchange mandatory, so clients that ignore it still interoperate.</item>
/// </list>
/// On failure in SPNEGO mode <paramref name="output"/> of <see cref="Step"/> is a negState=reject token
/// (the SMB layer may send it or an empty buffer); in raw mode it is empty. Never throws on bad input.
/// Not thread-safe.
/// </summary>
internal sealed class SpnegoServerContext
{
    private readonly Func<NtlmServerContext> _ntlmFactory;
    private NtlmServerContext? _ntlm;
    private Phase _phase = Phase.Start;
    private bool _raw;
    private byte[]? _mechTypesDer;
    private NtlmAuthResult? _pending;

    public SpnegoServerContext(Func<NtlmServerContext> ntlmFactory)
    {
        _ntlmFactory = ntlmFactory ?? throw new ArgumentNullException(nameof(ntlmFactory));
    }

    private enum Phase
    {
        Start,
        AwaitNtlmNegotiate,
        AwaitNtlmAuthenticate,
        AwaitMechListMic,
        Done,
    }

    /// <summary>Set when authentication finished: on success, and on failure with the failure status.</summary>
    public NtlmAuthResult? Result { get; private set; }

    /// <summary>True once NTLMSSP was negotiated without SPNEGO.</summary>
    public bool IsRawNtlm => _raw;

    /// <summary>The underlying NTLM context once a mechanism was selected.</summary>
    internal NtlmServerContext? Ntlm => _ntlm;

    /// <summary>One SESSION_SETUP round: consumes the client's security buffer and produces the server's.</summary>
    public NtStatus Step(ReadOnlySpan<byte> input, out byte[] output)
    {
        output = [];
        if (_phase == Phase.Done)
        {
            return NtStatus.InvalidParameter;
        }

        if (input.IsEmpty || input.Length > Spnego.MaxTokenSize)
        {
            return Fail(NtStatus.InvalidParameter, out output);
        }

        if (_phase == Phase.Start && NtlmWire.HasSignature(input, NtlmWire.NegotiateType))
        {
            _raw = true;
        }

        if (_raw)
        {
            return StepRaw(input, out output);
        }

        if (!Spnego.TryParse(input.ToArray(), out var token))
        {
            return Fail(NtStatus.InvalidParameter, out output);
        }

        if (token.NegState == SpnegoNegState.Reject)
        {
            return Fail(NtStatus.LogonFailure, out output);
        }

        return _phase switch
        {
            Phase.Start => token.IsInit ? OnNegTokenInit(token, out output) : Fail(NtStatus.InvalidParameter, out output),
            _ when token.IsInit => Fail(NtStatus.InvalidParameter, out output),
            Phase.AwaitNtlmNegotiate => OnNtlmNegotiate(token, out output),
            Phase.AwaitNtlmAuthenticate => OnNtlmAuthenticate(token, out output),
            Phase.AwaitMechListMic => OnMechListMic(token, out output),
            _ => Fail(NtStatus.InvalidParameter, out output),
        };
    }

    private NtStatus StepRaw(ReadOnlySpan<byte> input, out byte[] output)
    {
        output = [];
        switch (_phase)
        {
            case Phase.Start:
            {
                _ntlm = _ntlmFactory();
                var status = _ntlm.ProcessNegotiate(input, out var challenge);
                if (status != NtStatus.MoreProcessingRequired)
                {
                    return Fail(status, out output);
                }

                _phase = Phase.AwaitNtlmAuthenticate;
                output = challenge;
                return status;
            }

            case Phase.AwaitNtlmAuthenticate:
            {
                var result = _ntlm!.ProcessAuthenticate(input);
                _phase = Phase.Done;
                Result = result;
                return result.Status;
            }

            default:
                return Fail(NtStatus.InvalidParameter, out output);
        }
    }

    private NtStatus OnNegTokenInit(SpnegoToken token, out byte[] output)
    {
        var mechTypes = token.MechTypes!;
        int index = IndexOfNtlm(mechTypes);
        if (index < 0)
        {
            // No mechanism in common.
            return Fail(NtStatus.InvalidParameter, out output);
        }

        _mechTypesDer = token.MechTypesDer;
        _ntlm = _ntlmFactory();

        if (index == 0 && token.MechToken is { Length: > 0 } optimistic)
        {
            var status = _ntlm.ProcessNegotiate(optimistic, out var challenge);
            if (status != NtStatus.MoreProcessingRequired)
            {
                return Fail(status.IsSuccess() ? NtStatus.InvalidParameter : status, out output);
            }

            _phase = Phase.AwaitNtlmAuthenticate;
            output = Spnego.BuildNegTokenResp(SpnegoNegState.AcceptIncomplete, Spnego.NtlmSspOid, challenge, []);
            return NtStatus.MoreProcessingRequired;
        }

        // Either NTLMSSP is not the client's preferred mechanism (any optimistic token is for another
        // mechanism and is dropped) or no token was sent: select NTLMSSP and let the client start it.
        _phase = Phase.AwaitNtlmNegotiate;
        output = Spnego.BuildNegTokenResp(
            index > 0 ? SpnegoNegState.RequestMic : SpnegoNegState.AcceptIncomplete,
            Spnego.NtlmSspOid,
            [],
            []);
        return NtStatus.MoreProcessingRequired;
    }

    private NtStatus OnNtlmNegotiate(SpnegoToken token, out byte[] output)
    {
        if (token.ResponseToken is not { Length: > 0 } negotiate)
        {
            return Fail(NtStatus.InvalidParameter, out output);
        }

        var status = _ntlm!.ProcessNegotiate(negotiate, out var challenge);
        if (status != NtStatus.MoreProcessingRequired)
        {
            return Fail(status.IsSuccess() ? NtStatus.InvalidParameter : status, out output);
        }

        _phase = Phase.AwaitNtlmAuthenticate;
        // RFC 4178 4.2.2: supportedMech appears only in the first reply.
        output = Spnego.BuildNegTokenResp(SpnegoNegState.AcceptIncomplete, null, challenge, []);
        return NtStatus.MoreProcessingRequired;
    }

    private NtStatus OnNtlmAuthenticate(SpnegoToken token, out byte[] output)
    {
        if (token.ResponseToken is not { Length: > 0 } authenticate)
        {
            return Fail(NtStatus.InvalidParameter, out output);
        }

        var ntlm = _ntlm!;
        var result = ntlm.ProcessAuthenticate(authenticate);
        if (result.Status != NtStatus.Success)
        {
            return Fail(result, out output);
        }

        bool haveSign = ntlm.SupportsIntegrity;
        bool needMic = haveSign && (ntlm.AuthenticateHadMic || token.MechListMic is not null);
        bool clientMicChecked = false;
        if (haveSign && token.MechListMic is { } clientMic)
        {
            if (!ntlm.VerifySignature(_mechTypesDer, clientMic))
            {
                return Fail(result with { Status = NtStatus.LogonFailure, SessionKey = null }, out output);
            }

            clientMicChecked = true;
        }

        byte[] serverMic = needMic ? ntlm.MakeSignature(_mechTypesDer) : [];
        if (needMic && !clientMicChecked)
        {
            _pending = result;
            _phase = Phase.AwaitMechListMic;
            output = Spnego.BuildNegTokenResp(SpnegoNegState.AcceptIncomplete, null, [], serverMic);
            return NtStatus.MoreProcessingRequired;
        }

        _phase = Phase.Done;
        Result = result;
        output = Spnego.BuildNegTokenResp(SpnegoNegState.AcceptCompleted, null, [], serverMic);
        return NtStatus.Success;
    }

    private NtStatus OnMechListMic(SpnegoToken token, out byte[] output)
    {
        var pending = _pending!;
        if (token.ResponseToken is { Length: > 0 } || token.MechListMic is not { } clientMic)
        {
            return Fail(pending with { Status = NtStatus.InvalidParameter, SessionKey = null }, out output);
        }

        if (!_ntlm!.VerifySignature(_mechTypesDer, clientMic))
        {
            return Fail(pending with { Status = NtStatus.LogonFailure, SessionKey = null }, out output);
        }

        _phase = Phase.Done;
        Result = pending;
        output = Spnego.BuildNegTokenResp(SpnegoNegState.AcceptCompleted, null, [], []);
        return NtStatus.Success;
    }

    private NtStatus Fail(NtStatus status, out byte[] output) =>
        Fail(new NtlmAuthResult(status, "", "", "", false, false, null), out output);

    private NtStatus Fail(NtlmAuthResult result, out byte[] output)
    {
        _phase = Phase.Done;
        Result = result;
        output = _raw ? [] : Spnego.BuildNegTokenResp(SpnegoNegState.Reject, null, [], []);
        return result.Status;
    }

    private static int IndexOfNtlm(IReadOnlyList<string> mechTypes)
    {
        for (int i = 0; i < mechTypes.Count; i++)
        {
            if (mechTypes[i] == Spnego.NtlmSspOid)
            {
                return i;
            }
        }

        return -1;
    }
}
