/*
 * Protect and send one forwarded RTP packet in one call: the slot's hot path.
 * And further down (SlotCore, fanout): a packet's whole fan-out in one call.
 *
 * A slot forwards each packet it takes to its subscriber: check that the DTLS
 * transport is still connected and the ICE pair and SRTP session unchanged,
 * copy header and payload into an SRTP buffer, srtp_protect, sendto. In
 * Python that is three frames, a cffi call and socket.sendto parsing the
 * address tuple again, once per packet per subscriber (190 subscribers: 190
 * times per packet of the speaker). Here it is one C call with the address
 * parsed once.
 *
 * libsrtp is the one pylibsrtp carries: its srtp_protect is passed in as a
 * function pointer (cffi's ffi.addressof), so nothing here links against it.
 * When a check fails (not connected, another pair, another session, a packet
 * too long for the buffer) the sender calls its fallback, the Python method
 * that does the same with every case handled (and rebinds this sender), so
 * behaviour is the Python path's. conference/media/fast_send.py is the
 * Python side; without this module (no compiler) it uses the Python path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* libsrtp: srtp_err_status_t srtp_protect(srtp_t ctx, void *rtp_hdr, int *pkt_octet_len) */
typedef int (*protect_fn)(void *ctx, void *rtp, int *length);

#define MAX_UDP_PAYLOAD 65507
#define SRTP_MAX_TRAILER_LEN (16 + 128)
#define BUFFER_BYTES (MAX_UDP_PAYLOAD + SRTP_MAX_TRAILER_LEN)

/* One buffer per thread: every call finishes with it before returning. */
static _Thread_local unsigned char buffer[BUFFER_BYTES];

/* Packets every sender of this process sent through C, for /metrics. */
static unsigned long long total_fast_sends;

static PyObject *str_state;
static PyObject *str_tx_srtp;
static PyObject *str_fileno;
static PyObject *one;

typedef struct {
    PyObject_HEAD
    /* What the fast path is valid for; any change sends the call to the fallback. */
    PyObject *dtls;       /* the RTCDtlsTransport */
    PyObject *connected;  /* its CONNECTED state object */
    PyObject *nominated;  /* aioice's Connection._nominated dict */
    PyObject *pair;       /* the nominated pair bound, or NULL: not bound */
    PyObject *session;    /* the pylibsrtp session bound */
    PyObject *sock;       /* the socket object (its fileno is read per call) */
    PyObject *fallback;   /* callable(header, payload) -> bool: the Python path */
    PyObject *oversized;  /* callable(size, rtcp) for EMSGSIZE */
    protect_fn protect;
    void *srtp;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    unsigned long long fast_sends; /* packets that took the C path */
} Sender;

static int
Sender_traverse(Sender *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dtls);
    Py_VISIT(self->connected);
    Py_VISIT(self->nominated);
    Py_VISIT(self->pair);
    Py_VISIT(self->session);
    Py_VISIT(self->sock);
    Py_VISIT(self->fallback);
    Py_VISIT(self->oversized);
    return 0;
}

static int
Sender_clear(Sender *self)
{
    Py_CLEAR(self->dtls);
    Py_CLEAR(self->connected);
    Py_CLEAR(self->nominated);
    Py_CLEAR(self->pair);
    Py_CLEAR(self->session);
    Py_CLEAR(self->sock);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->oversized);
    return 0;
}

static void
Sender_dealloc(Sender *self)
{
    PyObject_GC_UnTrack(self);
    Sender_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
Sender_init(Sender *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"dtls", "connected", "nominated", "fallback", "oversized", NULL};
    PyObject *dtls, *connected, *nominated, *fallback, *oversized;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!OO", kwlist, &dtls, &connected,
                                     &PyDict_Type, &nominated, &fallback, &oversized))
        return -1;
    Sender_clear(self);
    Py_INCREF(dtls);
    self->dtls = dtls;
    Py_INCREF(connected);
    self->connected = connected;
    Py_INCREF(nominated);
    self->nominated = nominated;
    Py_INCREF(fallback);
    self->fallback = fallback;
    Py_INCREF(oversized);
    self->oversized = oversized;
    self->protect = NULL;
    self->srtp = NULL;
    return 0;
}

/* A numeric host and port (an aioice remote address) as a sockaddr. The family is
 * the host's: aioice gives an IPv6 address as (host, port) too. */
static int
parse_address(PyObject *addr, struct sockaddr_storage *out, socklen_t *len)
{
    const char *host;
    int port;
    unsigned int flowinfo = 0, scope_id = 0;
    if (!PyTuple_Check(addr)) {
        PyErr_SetString(PyExc_TypeError, "address must be a tuple");
        return -1;
    }
    if (!PyArg_ParseTuple(addr, "si|II", &host, &port, &flowinfo, &scope_id))
        return -1;
    if (port < 0 || port > 65535) {
        PyErr_Format(PyExc_ValueError, "not a port: %R", addr);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (strchr(host, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            PyErr_Format(PyExc_ValueError, "not a numeric IPv4 address: %R", addr);
            return -1;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return 0;
    }
    {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        char text[INET6_ADDRSTRLEN + 1];
        const char *percent = strchr(host, '%');
        size_t length = percent ? (size_t)(percent - host) : strlen(host);
        if (length >= sizeof(text)) {
            PyErr_Format(PyExc_ValueError, "not a numeric IPv6 address: %R", addr);
            return -1;
        }
        memcpy(text, host, length);
        text[length] = '\0';
        if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) {
            PyErr_Format(PyExc_ValueError, "not a numeric IPv6 address: %R", addr);
            return -1;
        }
        if (percent != NULL && scope_id == 0) {
            /* A zone (fe80::1%eth0) names the link: send as Python would, or not at all. */
            PyErr_Format(PyExc_ValueError, "an IPv6 zone is left to Python: %R", addr);
            return -1;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_flowinfo = htonl(flowinfo);
        sin6->sin6_scope_id = scope_id;
        *len = sizeof(*sin6);
        return 0;
    }
}

/* bind(pair, session, srtp, protect, sock, addr): the route and session to send on. */
static PyObject *
Sender_bind(Sender *self, PyObject *args)
{
    PyObject *pair, *session, *sock, *addr;
    unsigned long long srtp, protect;
    struct sockaddr_storage storage;
    socklen_t len = 0;
    if (!PyArg_ParseTuple(args, "OOKKOO", &pair, &session, &srtp, &protect, &sock, &addr))
        return NULL;
    if (parse_address(addr, &storage, &len) < 0)
        return NULL;
    if (!srtp || !protect) {
        PyErr_SetString(PyExc_ValueError, "null SRTP context or function");
        return NULL;
    }
    Py_INCREF(pair);
    Py_XSETREF(self->pair, pair);
    Py_INCREF(session);
    Py_XSETREF(self->session, session);
    Py_INCREF(sock);
    Py_XSETREF(self->sock, sock);
    self->srtp = (void *)(uintptr_t)srtp;
    self->protect = (protect_fn)(uintptr_t)protect;
    self->addr = storage;
    self->addrlen = len;
    Py_RETURN_NONE;
}

static PyObject *
Sender_unbind(Sender *self, PyObject *Py_UNUSED(ignored))
{
    Py_CLEAR(self->pair);
    Py_CLEAR(self->session);
    Py_CLEAR(self->sock);
    self->srtp = NULL;
    self->protect = NULL;
    Py_RETURN_NONE;
}

static PyObject *
call_fallback(Sender *self, PyObject *header, PyObject *payload)
{
    return PyObject_CallFunctionObjArgs(self->fallback, header, payload, NULL);
}

/* Whether the bound route is still the one to send on; -1: an error is set. */
static int
still_bound(Sender *self)
{
    PyObject *value;
    int same;
    if (self->pair == NULL)
        return 0;
    value = PyObject_GetAttr(self->dtls, str_state);
    if (value == NULL)
        return -1;
    same = value == self->connected;
    Py_DECREF(value);
    if (!same)
        return 0;
    value = PyDict_GetItemWithError(self->nominated, one); /* borrowed */
    if (value == NULL && PyErr_Occurred())
        return -1;
    if (value != self->pair)
        return 0;
    value = PyObject_GetAttr(self->dtls, str_tx_srtp);
    if (value == NULL)
        return -1;
    same = value == self->session;
    Py_DECREF(value);
    return same;
}

/* Protect header + payload and send them on the bound route: 1 sent, 0 not sent (as
 * False on the Python path), -1 an error is set. ``header`` may be NULL: it is made
 * from ``hdr`` only if the fallback needs it. The fallback's answer is taken as a
 * truth value, as the slot takes it. */
static int
sender_send(Sender *self, PyObject *header, const unsigned char *hdr, Py_ssize_t header_len,
            PyObject *payload)
{
    PyObject *fd_object, *result;
    Py_ssize_t payload_len, size;
    long fd;
    int length, status, bound, truth;
    ssize_t sent;

    bound = still_bound(self);
    if (bound < 0)
        return -1;
    payload_len = PyBytes_GET_SIZE(payload);
    size = header_len + payload_len;
    if (!bound || size > BUFFER_BYTES - SRTP_MAX_TRAILER_LEN) {
        /* Rebinds, or counts and logs. */
        if (header == NULL) {
            PyObject *made = PyBytes_FromStringAndSize((const char *)hdr, header_len);
            if (made == NULL)
                return -1;
            result = call_fallback(self, made, payload);
            Py_DECREF(made);
        } else {
            result = call_fallback(self, header, payload);
        }
        if (result == NULL)
            return -1;
        truth = PyObject_IsTrue(result);
        Py_DECREF(result);
        return truth;
    }

    fd_object = PyObject_CallMethodNoArgs(self->sock, str_fileno);
    if (fd_object == NULL)
        return -1;
    fd = PyLong_AsLong(fd_object);
    Py_DECREF(fd_object);
    if (fd == -1 && PyErr_Occurred())
        return -1;
    if (fd < 0)
        return 0; /* closed: UDP would lose it too */

    memcpy(buffer, hdr, (size_t)header_len);
    memcpy(buffer + header_len, PyBytes_AS_STRING(payload), (size_t)payload_len);
    length = (int)size;
    status = self->protect(self->srtp, buffer, &length);
    if (status)
        return 0; /* as pylibsrtp.Error on the Python path */
    sent = sendto((int)fd, buffer, (size_t)length, 0, (struct sockaddr *)&self->addr,
                  self->addrlen);
    if (sent < 0) {
        if (errno == EMSGSIZE) {
            result = PyObject_CallFunction(self->oversized, "nO", size, Py_False);
            if (result == NULL)
                return -1;
            Py_DECREF(result);
        }
        return 0; /* a full or closed socket: UDP would lose it too */
    }
    self->fast_sends++;
    total_fast_sends++;
    return 1;
}

/* __call__(header, payload) -> bool: protect header + payload and send it. */
static PyObject *
Sender_call(Sender *self, PyObject *args, PyObject *kwds)
{
    PyObject *header, *payload;
    int sent;

    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "no keyword arguments");
        return NULL;
    }
    if (PyTuple_GET_SIZE(args) != 2) {
        PyErr_SetString(PyExc_TypeError, "expected (header, payload)");
        return NULL;
    }
    header = PyTuple_GET_ITEM(args, 0);
    payload = PyTuple_GET_ITEM(args, 1);
    if (!PyBytes_CheckExact(header) || !PyBytes_CheckExact(payload))
        return call_fallback(self, header, payload);
    sent = sender_send(self, header, (const unsigned char *)PyBytes_AS_STRING(header),
                       PyBytes_GET_SIZE(header), payload);
    if (sent < 0)
        return NULL;
    return PyBool_FromLong(sent);
}

static PyObject *
Sender_get_bound(Sender *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->pair != NULL);
}

static PyObject *
Sender_get_fast_sends(Sender *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(self->fast_sends);
}

static PyMethodDef Sender_methods[] = {
    {"bind", (PyCFunction)Sender_bind, METH_VARARGS,
     "bind(pair, session, srtp, protect, sock, addr): send on this pair, SRTP context and "
     "socket until one of them changes."},
    {"unbind", (PyCFunction)Sender_unbind, METH_NOARGS, "Forget the route: calls go to the fallback."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Sender_getset[] = {
    {"bound", (getter)Sender_get_bound, NULL, "Whether a route is bound.", NULL},
    {"fast_sends", (getter)Sender_get_fast_sends, NULL, "Packets sent by the C path.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "conference.media._fastsend.Sender",
    .tp_doc = PyDoc_STR("Sender(dtls, connected, nominated, fallback, oversized): protect and "
                        "send forwarded RTP in one call; see conference/media/fast_send.py."),
    .tp_basicsize = sizeof(Sender),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Sender_init,
    .tp_dealloc = (destructor)Sender_dealloc,
    .tp_traverse = (traverseproc)Sender_traverse,
    .tp_clear = (inquiry)Sender_clear,
    .tp_call = (ternaryfunc)Sender_call,
    .tp_methods = Sender_methods,
    .tp_getset = Sender_getset,
};

/* ---------------------------------------------------------------------------------
 * The whole fan-out of one packet in one call.
 *
 * SlotCore is conference.slot.Slot's base class: the slot's forwarding state lives
 * in its C fields (exposed to Python as ordinary attributes), so fanout() can do a
 * slot's steady-state work without a Python frame: the sequence check, the SSRC /
 * sequence / timestamp rewrite, the VP8 picture id shift, the header extension
 * (our abs-send-time, or the publisher's audio level), the send history, protect
 * and send (Sender above), the counters. Slot.on_packet is the same in Python and
 * stays the reference: any slot not in its steady state (another feed, waiting for
 * a keyframe, a reduced frame rate, a pacer, a sender that is not compiled), and
 * any sink that is not a slot, gets its on_packet called, in the sinks' order.
 * ------------------------------------------------------------------------------- */


#define NTP_EPOCH_OFFSET 2208988800LL /* 1900 (NTP) to 1970 (Unix), seconds */
#define ONE_BYTE_ONE_WORD 0xBEDE0001u

typedef struct {
    PyObject_HEAD
    PyObject *feed;        /* the Source forwarded now */
    PyObject *send_parts;  /* _send_parts: a Sender for the compiled path */
    PyObject *pacer;       /* a Pacer: Python's path */
    PyObject *history;     /* a SendHistory or None */
    PyObject *metrics;     /* the SfuMetrics */
    PyObject *last_payload;
    int started_source;
    int temporal;
    int munge_picture_id;
    int sent_any;
    int video;
    int stamps;
    int pt;
    long long pid_delta;
    long long tl0_delta;
    long long last_in_seq;
    long long in_ahead;
    long long seq_offset;
    long long ts_offset;
    long long max_out_seq;
    long long max_out_ts;
    long long ext_word;
    long long ssrc;
    long long packets_sent;
    long long octets_sent;
    long long last_rtp_timestamp;
    unsigned long long last_ntp;
    double last_send;
} SlotCore;

static PyTypeObject SlotCoreType;

static PyObject *str_on_packet, *str_sequence_number, *str_timestamp, *str_marker,
    *str_payload, *str_audio_level, *str_arrival, *str_ntp, *str_ring, *str_packets_out,
    *str_bytes_out, *str_frames_out, *str_packets_dropped;

/* A Python callable giving the abs-send-time value instead of the clock: tests only. */
static PyObject *stamp_clock;

static int
SlotCore_traverse(SlotCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->feed);
    Py_VISIT(self->send_parts);
    Py_VISIT(self->pacer);
    Py_VISIT(self->history);
    Py_VISIT(self->metrics);
    Py_VISIT(self->last_payload);
    return 0;
}

static int
SlotCore_clear(SlotCore *self)
{
    Py_CLEAR(self->feed);
    Py_CLEAR(self->send_parts);
    Py_CLEAR(self->pacer);
    Py_CLEAR(self->history);
    Py_CLEAR(self->metrics);
    Py_CLEAR(self->last_payload);
    return 0;
}

static void
SlotCore_dealloc(SlotCore *self)
{
    PyObject_GC_UnTrack(self);
    SlotCore_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define MEMBER(name, type, field) {name, type, offsetof(SlotCore, field), 0, NULL}
static PyMemberDef SlotCore_members[] = {
    MEMBER("feed", T_OBJECT, feed),
    MEMBER("_send_parts", T_OBJECT, send_parts),
    MEMBER("pacer", T_OBJECT, pacer),
    MEMBER("history", T_OBJECT, history),
    MEMBER("metrics", T_OBJECT, metrics),
    MEMBER("_last_payload", T_OBJECT, last_payload),
    MEMBER("_started_source", T_BOOL, started_source),
    MEMBER("_temporal", T_BOOL, temporal),
    MEMBER("_munge_picture_id", T_BOOL, munge_picture_id),
    MEMBER("_sent_any", T_BOOL, sent_any),
    MEMBER("_video", T_BOOL, video),
    MEMBER("_stamps", T_BOOL, stamps),
    MEMBER("_pt", T_INT, pt),
    MEMBER("_pid_delta", T_LONGLONG, pid_delta),
    MEMBER("_tl0_delta", T_LONGLONG, tl0_delta),
    MEMBER("_last_in_seq", T_LONGLONG, last_in_seq),
    MEMBER("_in_ahead", T_LONGLONG, in_ahead),
    MEMBER("_seq_offset", T_LONGLONG, seq_offset),
    MEMBER("_ts_offset", T_LONGLONG, ts_offset),
    MEMBER("_max_out_seq", T_LONGLONG, max_out_seq),
    MEMBER("_max_out_ts", T_LONGLONG, max_out_ts),
    MEMBER("_ext_word", T_LONGLONG, ext_word),
    MEMBER("_ssrc", T_LONGLONG, ssrc),
    MEMBER("packets_sent", T_LONGLONG, packets_sent),
    MEMBER("octets_sent", T_LONGLONG, octets_sent),
    MEMBER("last_rtp_timestamp", T_LONGLONG, last_rtp_timestamp),
    MEMBER("last_ntp", T_ULONGLONG, last_ntp),
    MEMBER("_last_send", T_DOUBLE, last_send),
    {NULL, 0, 0, 0, NULL},
};
#undef MEMBER

static PyTypeObject SlotCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "conference.media._fastsend.SlotCore",
    .tp_doc = PyDoc_STR("A slot's forwarding state as C fields: conference.slot.Slot's base, "
                        "read and written by fanout()."),
    .tp_basicsize = sizeof(SlotCore),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)SlotCore_dealloc,
    .tp_traverse = (traverseproc)SlotCore_traverse,
    .tp_clear = (inquiry)SlotCore_clear,
    .tp_members = SlotCore_members,
};

/* time.time(), as Python computes it. */
static double
unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* conference.media.ntp.abs_send_time_now(); -1: an error is set (the test clock). */
static long long
abs_send_time_now(void)
{
    if (stamp_clock != NULL) {
        PyObject *value = PyObject_CallNoArgs(stamp_clock);
        long long stamp;
        if (value == NULL)
            return -1;
        stamp = PyLong_AsLongLong(value);
        Py_DECREF(value);
        if (stamp == -1 && PyErr_Occurred())
            return -1;
        return stamp & 0xFFFFFF;
    }
    return ((long long)(unix_now() * 262144.0) + (NTP_EPOCH_OFFSET << 18)) & 0xFFFFFF;
}

/* conference.media.ntp.ntp_now() */
static unsigned long long
ntp_now(void)
{
    double now = unix_now() + (double)NTP_EPOCH_OFFSET;
    unsigned long long seconds = (unsigned long long)now;
    return (seconds << 32) | (unsigned long long)((now - (double)seconds) * 4294967296.0);
}

/* conference.media.codecs.rewrite_vp8_picture_id: a new reference, maybe ``payload``. */
static PyObject *
rewrite_vp8_picture_id(PyObject *payload, long long pid_delta, long long tl0_delta)
{
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(payload);
    Py_ssize_t size = PyBytes_GET_SIZE(payload), pos = 1, pid_offset = -1, tl0_offset = -1;
    int bits = 0, picture_id = 0;
    PyObject *out;
    unsigned char *bytes;

    if (size < 1)
        Py_RETURN_NONE; /* not reached: the caller skips an empty payload */
    if (data[0] & 0x80) {
        unsigned char ext;
        if (size < 2)
            goto unchanged;
        ext = data[1];
        pos = 2;
        if (ext & 0x80) {
            if (size <= pos)
                goto unchanged;
            pid_offset = pos;
            if (data[pos] & 0x80) {
                if (size < pos + 2)
                    goto unchanged;
                picture_id = ((data[pos] & 0x7F) << 8) | data[pos + 1];
                bits = 15;
                pos += 2;
            } else {
                picture_id = data[pos];
                bits = 7;
                pos += 1;
            }
        }
        if (ext & 0x40) {
            tl0_offset = pos;
            pos += 1;
        }
        if (ext & 0x30)
            pos += 1;
        if (size < pos)
            goto unchanged;
    }
    if (!bits && tl0_offset < 0)
        goto unchanged;
    out = PyBytes_FromStringAndSize((const char *)data, size);
    if (out == NULL)
        return NULL;
    bytes = (unsigned char *)PyBytes_AS_STRING(out);
    if (bits == 15) {
        long long value = (picture_id + pid_delta) & 0x7FFF;
        bytes[pid_offset] = (unsigned char)(0x80 | (value >> 8));
        bytes[pid_offset + 1] = (unsigned char)(value & 0xFF);
    } else if (bits == 7) {
        bytes[pid_offset] = (unsigned char)((picture_id + pid_delta) & 0x7F);
    }
    if (tl0_offset >= 0)
        bytes[tl0_offset] = (unsigned char)((bytes[tl0_offset] + tl0_delta) & 0xFF);
    return out;
unchanged:
    Py_INCREF(payload);
    return payload;
}

/* What one packet's fan-out adds to one SfuMetrics, added once per call. */
typedef struct {
    PyObject *metrics; /* held until flushed: a sink's Python may replace a slot's */
    long long packets_out, bytes_out, frames_out, packets_dropped;
} Counts;

static int
add_to(PyObject *metrics, PyObject *name, long long delta)
{
    PyObject *value, *sum, *add;
    int status;
    if (!delta)
        return 0;
    value = PyObject_GetAttr(metrics, name);
    if (value == NULL)
        return -1;
    add = PyLong_FromLongLong(delta);
    if (add == NULL) {
        Py_DECREF(value);
        return -1;
    }
    sum = PyNumber_Add(value, add);
    Py_DECREF(value);
    Py_DECREF(add);
    if (sum == NULL)
        return -1;
    status = PyObject_SetAttr(metrics, name, sum);
    Py_DECREF(sum);
    return status;
}

static int
flush_counts(Counts *counts)
{
    int status = 0;
    if (counts->metrics != NULL) {
        if (add_to(counts->metrics, str_packets_out, counts->packets_out) < 0 ||
            add_to(counts->metrics, str_bytes_out, counts->bytes_out) < 0 ||
            add_to(counts->metrics, str_frames_out, counts->frames_out) < 0 ||
            add_to(counts->metrics, str_packets_dropped, counts->packets_dropped) < 0)
            status = -1;
    }
    Py_CLEAR(counts->metrics);
    counts->packets_out = counts->bytes_out = counts->frames_out = counts->packets_dropped = 0;
    return status;
}

/* One packet's fields, read once for every slot. */
typedef struct {
    long long seq, ts, audio_level; /* audio_level -1: None */
    int marker;
    PyObject *payload;              /* borrowed from the packet */
    double arrival;
    unsigned long long ntp;
} Fields;

static int
read_long(PyObject *packet, PyObject *name, long long *out)
{
    PyObject *value = PyObject_GetAttr(packet, name);
    if (value == NULL)
        return -1;
    if (value == Py_None) {
        *out = -1;
    } else {
        *out = PyLong_AsLongLong(value);
        if (*out == -1 && PyErr_Occurred()) {
            Py_DECREF(value);
            return -1;
        }
    }
    Py_DECREF(value);
    return 0;
}

/* 1: the packet's fields are read; 0: not a packet this path can take (Python's then). */
static int
read_fields(PyObject *packet, Fields *fields, PyObject **payload_ref)
{
    PyObject *value;
    long long marker;
    if (read_long(packet, str_sequence_number, &fields->seq) < 0 ||
        read_long(packet, str_timestamp, &fields->ts) < 0 ||
        read_long(packet, str_marker, &marker) < 0 ||
        read_long(packet, str_audio_level, &fields->audio_level) < 0)
        return -1;
    value = PyObject_GetAttr(packet, str_arrival);
    if (value == NULL)
        return -1;
    fields->arrival = PyFloat_AsDouble(value);
    Py_DECREF(value);
    if (fields->arrival == -1.0 && PyErr_Occurred())
        return -1;
    value = PyObject_GetAttr(packet, str_ntp);
    if (value == NULL)
        return -1;
    fields->ntp = PyLong_Check(value) ? PyLong_AsUnsignedLongLongMask(value) : 0;
    Py_DECREF(value);
    if (PyErr_Occurred())
        return -1;
    value = PyObject_GetAttr(packet, str_payload);
    if (value == NULL)
        return -1;
    *payload_ref = value;
    fields->payload = value;
    fields->marker = (int)marker;
    /* Anything unusual (a numbering out of range, a payload that is not bytes, a
     * level that is not a byte) is left to Python, which behaves as it always did. */
    if (!PyBytes_CheckExact(value) || fields->seq < 0 || fields->seq > 0xFFFF ||
        fields->ts < 0 || fields->ts > 0xFFFFFFFFLL || marker < 0 || marker > 1 ||
        fields->audio_level < -1 || fields->audio_level > 0xFF)
        return 0;
    return 1;
}

static void
put32(unsigned char *out, unsigned long long value)
{
    out[0] = (unsigned char)(value >> 24);
    out[1] = (unsigned char)(value >> 16);
    out[2] = (unsigned char)(value >> 8);
    out[3] = (unsigned char)value;
}

/* Slot.on_packet's steady state for ``slot``: 0 done (sent, dropped or skipped as
 * Python would), -1 an error is set. The caller checked it is in its steady state. */
static int
forward(SlotCore *slot, Fields *packet, Counts *counts)
{
    long long delta, out_seq, out_ts, diff;
    Py_ssize_t header_len, size;
    unsigned char header[20];
    PyObject *payload;
    int sent;

    delta = (packet->seq - slot->last_in_seq) & 0xFFFF;
    if (delta < 0x8000) {
        slot->in_ahead += delta;
        slot->last_in_seq = packet->seq;
    } else if (0x10000 - delta > slot->in_ahead) {
        return 0; /* sent before the point we switched at: its output number is taken */
    }
    out_seq = (packet->seq + slot->seq_offset) & 0xFFFF;
    if (slot->munge_picture_id && PyBytes_GET_SIZE(packet->payload)) {
        payload = rewrite_vp8_picture_id(packet->payload, slot->pid_delta, slot->tl0_delta);
        if (payload == NULL)
            return -1;
    } else {
        payload = packet->payload;
        Py_INCREF(payload);
    }
    out_ts = (packet->ts + slot->ts_offset) & 0xFFFFFFFFLL;

    header[1] = (unsigned char)((packet->marker << 7) | (slot->pt & 0x7F));
    header[2] = (unsigned char)(out_seq >> 8);
    header[3] = (unsigned char)out_seq;
    put32(header + 4, (unsigned long long)out_ts);
    put32(header + 8, (unsigned long long)slot->ssrc);
    if (slot->ext_word >= 0 && (slot->stamps || packet->audio_level >= 0)) {
        /* One RFC 8285 one-byte block of one word: our send time (video), per
         * subscriber, or the publisher's audio level (audio), as slot.py packs it. */
        long long value;
        if (slot->stamps) {
            value = abs_send_time_now();
            if (value < 0) {
                Py_DECREF(payload);
                return -1;
            }
        } else {
            value = packet->audio_level << 16;
        }
        header[0] = 0x90;
        put32(header + 12, ONE_BYTE_ONE_WORD);
        put32(header + 16, (unsigned long long)(slot->ext_word | value));
        header_len = 20;
    } else {
        header[0] = 0x80;
        header_len = 12;
    }

    if (slot->history != NULL && slot->history != Py_None) {
        /* SendHistory.put: its ring of (seq, timestamp, marker, payload). */
        PyObject *ring = PyObject_GetAttr(slot->history, str_ring), *entry;
        Py_ssize_t length;
        if (ring == NULL) {
            Py_DECREF(payload);
            return -1;
        }
        length = PyList_Check(ring) ? PyList_GET_SIZE(ring) : 0;
        if (length <= 0 || (length & (length - 1))) {
            Py_DECREF(ring);
            Py_DECREF(payload);
            PyErr_SetString(PyExc_TypeError, "a send history's ring must be a list of 2^n");
            return -1;
        }
        entry = Py_BuildValue("(LLiO)", out_seq, out_ts, packet->marker, payload);
        if (entry == NULL) {
            Py_DECREF(ring);
            Py_DECREF(payload);
            return -1;
        }
        PyList_SetItem(ring, (Py_ssize_t)(out_seq & (length - 1)), entry); /* steals entry */
        Py_DECREF(ring);
    }

    {
        /* Held across the call: its Python fallback may replace the slot's sender. */
        PyObject *sender = slot->send_parts;
        Py_INCREF(sender);
        sent = sender_send((Sender *)sender, NULL, header, header_len, payload);
        Py_DECREF(sender);
    }
    if (sent < 0) {
        Py_DECREF(payload);
        return -1;
    }
    if (!sent) {
        counts->packets_dropped++;
        Py_DECREF(payload);
        return 0;
    }

    diff = (out_seq - slot->max_out_seq) & 0xFFFF;
    if (0 < diff && diff < 0x8000)
        slot->max_out_seq = out_seq;
    diff = (out_ts - slot->max_out_ts) & 0xFFFFFFFFLL;
    if ((0 < diff && diff < 0x80000000LL) || !slot->sent_any) {
        slot->max_out_ts = out_ts;
        slot->last_rtp_timestamp = out_ts;
        slot->last_ntp = packet->ntp ? packet->ntp : ntp_now();
    }
    slot->sent_any = 1;
    slot->last_send = packet->arrival;
    size = PyBytes_GET_SIZE(payload);
    Py_XSETREF(slot->last_payload, payload); /* takes our reference */
    slot->packets_sent++;
    slot->octets_sent += size;
    counts->packets_out++;
    counts->bytes_out += header_len + size;
    if (packet->marker && slot->video)
        counts->frames_out++;
    return 0;
}

/* Whether ``sink`` is a slot in its steady state for ``source``: forward() takes it. */
static int
steady(PyObject *sink, PyObject *source)
{
    SlotCore *slot;
    if (!PyObject_TypeCheck(sink, &SlotCoreType))
        return 0;
    slot = (SlotCore *)sink;
    return slot->feed == source && slot->started_source && !slot->temporal &&
           (slot->pacer == NULL || slot->pacer == Py_None) && slot->send_parts != NULL &&
           Py_IS_TYPE(slot->send_parts, &SenderType) && slot->metrics != NULL &&
           slot->pt >= 0 && slot->pt <= 0x7F && slot->ssrc >= 0 && slot->ssrc <= 0xFFFFFFFFLL;
}

/* fanout(sinks, source, packet): Source.push's loop over its sinks, in one call. */
static PyObject *
fastsend_fanout(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *sinks, *source, *packet, *payload = NULL;
    Fields fields;
    Counts counts = {NULL, 0, 0, 0, 0};
    Py_ssize_t index, count;
    int usable;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "fanout(sinks, source, packet)");
        return NULL;
    }
    sinks = args[0];
    source = args[1];
    packet = args[2];
    if (!PyTuple_Check(sinks)) {
        PyErr_SetString(PyExc_TypeError, "sinks must be a tuple");
        return NULL;
    }
    usable = read_fields(packet, &fields, &payload);
    if (usable < 0) {
        Py_XDECREF(payload);
        return NULL;
    }
    /* Source.push iterates the tuple it read; add_sink / remove_sink make new ones. */
    Py_INCREF(sinks);
    count = PyTuple_GET_SIZE(sinks);
    for (index = 0; index < count; index++) {
        PyObject *sink = PyTuple_GET_ITEM(sinks, index);
        if (usable && steady(sink, source)) {
            SlotCore *slot = (SlotCore *)sink;
            if (counts.metrics != slot->metrics) {
                if (flush_counts(&counts) < 0)
                    goto error;
                Py_INCREF(slot->metrics);
                counts.metrics = slot->metrics;
            }
            Py_INCREF(sink);
            if (forward(slot, &fields, &counts) < 0) {
                Py_DECREF(sink);
                goto error;
            }
            Py_DECREF(sink);
        } else {
            /* Python's own path; what it counts meanwhile adds to ours. */
            PyObject *result = PyObject_CallMethodObjArgs(sink, str_on_packet, source, packet,
                                                          NULL);
            if (result == NULL)
                goto error;
            Py_DECREF(result);
        }
    }
    Py_DECREF(sinks);
    Py_XDECREF(payload);
    if (flush_counts(&counts) < 0)
        return NULL;
    Py_RETURN_NONE;
error:
    Py_DECREF(sinks);
    Py_XDECREF(payload);
    {
        /* Keep what was counted before the error, and the error itself. */
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        if (flush_counts(&counts) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, traceback);
    }
    return NULL;
}

/* set_stamp_clock(callable or None): abs-send-time from ``callable()`` (tests). */
static PyObject *
fastsend_set_stamp_clock(PyObject *Py_UNUSED(module), PyObject *clock)
{
    if (clock == Py_None) {
        Py_CLEAR(stamp_clock);
    } else {
        Py_INCREF(clock);
        Py_XSETREF(stamp_clock, clock);
    }
    Py_RETURN_NONE;
}

static int
init_fanout_names(void)
{
#define INTERN(var, text)                                  \
    do {                                                   \
        var = PyUnicode_InternFromString(text);            \
        if (var == NULL)                                   \
            return -1;                                     \
    } while (0)
    INTERN(str_on_packet, "on_packet");
    INTERN(str_sequence_number, "sequence_number");
    INTERN(str_timestamp, "timestamp");
    INTERN(str_marker, "marker");
    INTERN(str_payload, "payload");
    INTERN(str_audio_level, "audio_level");
    INTERN(str_arrival, "arrival");
    INTERN(str_ntp, "ntp");
    INTERN(str_ring, "_ring");
    INTERN(str_packets_out, "packets_out");
    INTERN(str_bytes_out, "bytes_out");
    INTERN(str_frames_out, "frames_out");
    INTERN(str_packets_dropped, "packets_dropped");
#undef INTERN
    return 0;
}

static PyObject *
fastsend_total(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLongLong(total_fast_sends);
}

static PyMethodDef fastsend_functions[] = {
    {"total_fast_sends", fastsend_total, METH_NOARGS,
     "Packets every sender of this process sent through C."},
    {"fanout", (PyCFunction)(void (*)(void))fastsend_fanout, METH_FASTCALL,
     "fanout(sinks, source, packet): hand one packet to every sink, the slots in their "
     "steady state in C, the rest through their on_packet."},
    {"set_stamp_clock", fastsend_set_stamp_clock, METH_O,
     "set_stamp_clock(callable or None): take abs-send-time values from callable() (tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastsend_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "conference.media._fastsend",
    .m_methods = fastsend_functions,
    .m_doc = PyDoc_STR("Protect and send forwarded RTP in one C call (see fast_send.py)."),
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__fastsend(void)
{
    PyObject *module;
    str_state = PyUnicode_InternFromString("_state");
    str_tx_srtp = PyUnicode_InternFromString("_tx_srtp");
    str_fileno = PyUnicode_InternFromString("fileno");
    one = PyLong_FromLong(1);
    if (!str_state || !str_tx_srtp || !str_fileno || !one)
        return NULL;
    if (PyType_Ready(&SenderType) < 0 || PyType_Ready(&SlotCoreType) < 0)
        return NULL;
    if (init_fanout_names() < 0)
        return NULL;
    module = PyModule_Create(&fastsend_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&SenderType);
    if (PyModule_AddObject(module, "Sender", (PyObject *)&SenderType) < 0) {
        Py_DECREF(&SenderType);
        Py_DECREF(module);
        return NULL;
    }
    Py_INCREF(&SlotCoreType);
    if (PyModule_AddObject(module, "SlotCore", (PyObject *)&SlotCoreType) < 0) {
        Py_DECREF(&SlotCoreType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "BUFFER_BYTES", BUFFER_BYTES) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
