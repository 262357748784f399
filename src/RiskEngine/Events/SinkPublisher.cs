using Microsoft.Extensions.Logging;

namespace RiskEngine.Events;

/// <summary>
/// Hands committed account events to every registered sink, in order. A sink that throws is logged and the others
/// still get the event: the change is already committed, and a sink's failure must not turn it into an error for
/// the caller. The one place the engine and the TOTP service tell sinks.
/// </summary>
internal static partial class SinkPublisher
{
    public static async ValueTask PublishAsync(IRiskEventSink[] sinks, IReadOnlyList<AccountEvent> events, ILogger log, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            foreach (var sink in sinks)
            {
                try
                {
                    await sink.PublishAsync(e, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSinkFailed(log, sink.GetType().Name, e.Type, e.Account.Value, ex);
                }
            }
        }
    }

    [LoggerMessage(LogLevel.Error, "sink {Sink} failed to take {Type} of account {Account}; the change stands (it is committed)")]
    private static partial void LogSinkFailed(ILogger logger, string sink, string type, string account, Exception error);
}
