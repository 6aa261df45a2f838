"""The Python client. It mirrors the classic pjsua module: ``Lib``, ``Account``, ``Call``,
``Buddy``, the callback classes and ``Error``; operations that involve SIP are asynchronous and
their outcome arrives as callbacks, delivered on the client's callback thread.

    lib = Lib.start_local(agents=2)           # or Lib.connect("tcp://127.0.0.1:5601")
    acc = lib.create_account("sip:alice@127.0.0.1", cb=MyAccountCallback())
    call = acc.make_call("sip:bob@127.0.0.1:5062", cb=MyCallCallback())
    ...
    lib.destroy()

It needs ``proto`` and pyzmq only (no pjsua2): ``pip install callfleet`` without extras.
"""

from coordinator.client.account import Account, AccountConfig, AccountInfo
from coordinator.client.buddy import Buddy, BuddyCallback, BuddyInfo
from coordinator.client.call import Call, CallInfo, CallStats
from coordinator.client.callbacks import AccountCallback, CallCallback
from coordinator.client.errors import Error
from coordinator.client.lib import Lib
from coordinator.client.load import LoadWatch
from coordinator.client.media import CodecInfo, SoundDeviceInfo
from proto.sip_addresses import Transport, TransportInfo

__all__ = [
    "Account", "AccountCallback", "AccountConfig", "AccountInfo", "Buddy", "BuddyCallback",
    "BuddyInfo", "Call", "CallCallback", "CallInfo", "CallStats", "CodecInfo", "Error", "Lib",
    "LoadWatch", "SoundDeviceInfo", "Transport", "TransportInfo",
]
