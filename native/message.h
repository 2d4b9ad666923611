// The glue of recvmsg / sendmsg with control messages (native/message.cc).
#ifndef RAWRECV_MESSAGE_H_
#define RAWRECV_MESSAGE_H_

#include <napi.h>

namespace rawrecv {

// Adds recvmsgControl, sendmsgControl, interfaceName, inetNtop, inetPton, controlSpace and
// controlSizes to `exports`. Called once per environment, from the module's Init.
void InitMessage(Napi::Env env, Napi::Object exports);

}  // namespace rawrecv

#endif  // RAWRECV_MESSAGE_H_
