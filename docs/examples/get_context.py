#!/usr/bin/env python3
"""Calls getContext on a running `cdp serve` (the example of docs/api.md).

Generate the Python bindings once:   thrift --gen py -out /tmp/cdp-py api/cdp.thrift
Then:   PYTHONPATH=/tmp/cdp-py python3 docs/examples/get_context.py \
            --token-file ./cdp-data/admin.token email=ada.lovelace@example.com support
"""
import argparse
import sys

from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

from cdp_thrift import CdpService
from cdp_thrift.ttypes import CdpError, GetContextRequest, Identifier, PersonRef


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("who", help="type=value, e.g. email=ann@example.com")
    parser.add_argument("purpose", help="a configured purpose, e.g. support")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7600)
    parser.add_argument("--token-file", default="./cdp-data/admin.token")
    args = parser.parse_args()

    with open(args.token_file) as f:
        token = f.read().strip()
    kind, _, value = args.who.partition("=")

    socket = TSocket.TSocket(args.host, args.port)
    socket.setTimeout(5000)  # ms
    transport = TTransport.TFramedTransport(socket)
    client = CdpService.Client(TBinaryProtocol.TBinaryProtocol(transport, strictRead=True))
    transport.open()
    try:
        response = client.getContext(GetContextRequest(
            token=token,
            person=PersonRef(identifier=Identifier(type=kind, value=value)),
            purpose=args.purpose,
            max_events=5))
    except CdpError as error:
        print(f"error {error.code}: {error.message}", file=sys.stderr)
        return 1
    finally:
        transport.close()

    if not response.found:
        print("nobody holds that identifier")
        return 3
    context = response.context
    print("profile", context.profile_id, "purpose allowed:", context.purpose_allowed)
    for identifier in context.identifiers:
        print(f"  {identifier.type:12} {identifier.value}")
    for trait in context.traits:
        print(f"  trait {trait.name} = {trait.json}")
    for event in context.recent_events:
        print(f"  event {event.type} {event.name} on {event.channel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
