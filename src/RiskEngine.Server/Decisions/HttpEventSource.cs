using System.Security.Claims;
using RiskEngine.Events;
using RiskEngine.Hosting;
using RiskEngine.Pipeline;
using RiskEngine.Server.Auth;

namespace RiskEngine.Server.Decisions;

/// <summary>
/// The HTTP server as a source of events: it reads each line itself so that authority is enforced where the event
/// enters (<see cref="EventAuthority"/>: the key must hold the role the event's type needs) and every event carries
/// the name of the key that sent it (<see cref="RiskEvent.Key"/>). Thread-safe (static, no state).
/// </summary>
internal static class HttpEventSource
{
    /// <summary>
    /// What the pump decides for <paramref name="line"/> sent under <paramref name="user"/>: the event stamped with the
    /// key's name; a rejection on <c>type</c> when the key may not send it; the parser's rejection when it is not a
    /// contract event. <paramref name="forbidden"/> says which of the three it is.
    /// </summary>
    public static ParsedEvent Read(RequestPump pump, JsonLine line, ClaimsPrincipal user, out bool forbidden)
    {
        forbidden = false;
        var parsed = pump.Read(line);
        if (parsed.Event is not { } e) return parsed;
        if (EventAuthority.Check(e, user.IsInRole) is { } refused)
        {
            forbidden = true;
            return new ParsedEvent(null, refused);
        }
        return new ParsedEvent(e with { Key = ApiKeyAuthentication.KeyName(user) }, null);
    }

    /// <summary>403 problem for an event the key may not send: names the event type and the role it needs; nothing was decided.</summary>
    public static IResult Forbidden(RiskEngine.Decisions.Rejection refused) => Results.Problem(
        statusCode: StatusCodes.Status403Forbidden,
        title: "This API key may not send this event type",
        detail: refused.Error,
        type: "urn:riskengine:problem:forbidden-type",
        extensions: new Dictionary<string, object?> { ["field"] = "type", ["event"] = refused.EventId?.Value });
}
