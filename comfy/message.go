package comfy

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrMalformed marks a frame or body that could not be decoded. Errors that
// wrap it name the message type or field at fault.
var ErrMalformed = errors.New("malformed")

// MessageError reports a JSON WebSocket message that could not be decoded. The
// raw frame is kept so the caller can log or forward it.
type MessageError struct {
	Type string // message type, "" when the envelope itself is bad
	Raw  []byte
	Err  error
}

func (e *MessageError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("decode message: %v", e.Err)
	}
	return fmt.Sprintf("decode %s message: %v", e.Type, e.Err)
}

func (e *MessageError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

// DecodeMessage decodes one JSON (text) WebSocket frame into its typed event.
// Unknown types come back as UnknownEvent. Python's non-finite number tokens
// (NaN, Infinity), which some custom nodes produce, are read as null.
func DecodeMessage(data []byte) (Event, error) {
	if ev, ok := decodeFast(data); ok {
		return ev, nil
	}
	return decodeFull(data)
}

// decodeFull decodes any message: the envelope through encoding/json, with
// the errors DecodeMessage reports.
func decodeFull(data []byte) (Event, error) {
	var msg Message
	if err := json.Unmarshal(data, &msg); err != nil {
		clean, ok := pythonNonFinite(data)
		if !ok || json.Unmarshal(clean, &msg) != nil {
			return nil, &MessageError{Raw: data, Err: err}
		}
	}
	if msg.Type == "" {
		return nil, &MessageError{Raw: data, Err: errors.New(`field "type" is missing or empty`)}
	}
	ev, err := decodeEventData(msg.Type, msg.Data)
	if err != nil {
		return nil, &MessageError{Type: msg.Type, Raw: data, Err: err}
	}
	return ev, nil
}

// decodeEventData decodes the data of a message of type typ.
func decodeEventData(typ string, data json.RawMessage) (Event, error) {
	switch typ {
	case EventStatus:
		return decodeData[StatusData](data)
	case EventExecutionStart:
		return decodeData[ExecutionStart](data)
	case EventExecutionCached:
		return decodeData[ExecutionCached](data)
	case EventExecuting:
		return decodeData[Executing](data)
	case EventProgress:
		return decodeData[Progress](data)
	case EventProgressState:
		if p, ok := decodeProgressState(data); ok {
			return p, nil
		}
		return decodeData[ProgressState](data)
	case EventExecuted:
		return decodeData[Executed](data)
	case EventExecutionSuccess:
		return decodeData[ExecutionSuccess](data)
	case EventExecutionError:
		return decodeData[ExecutionError](data)
	case EventExecutionInterrupted:
		return decodeData[ExecutionInterrupted](data)
	case EventFeatureFlags:
		return decodeData[FeatureFlags](data)
	case EventLogs:
		return decodeData[Logs](data)
	}
	return UnknownEvent{Type: typ, Data: data}, nil
}

func decodeData[T Event](data json.RawMessage) (Event, error) {
	var v T
	if kind := jsonKind(data); kind != "object" {
		return nil, fmt.Errorf(`field "data": want an object, got %s`, kind)
	}
	// Only maps of any need UseNumber; typed fields use json.Number already.
	var err error
	if _, generic := any(v).(FeatureFlags); generic {
		err = decodeUseNumber(data, &v)
	} else {
		err = json.Unmarshal(data, &v)
	}
	if err != nil {
		return nil, fmt.Errorf(`field "data": %w`, err)
	}
	return v, nil
}

// EncodeMessage encodes a JSON event as a text frame {"type": ..., "data": ...},
// with data keys in ComfyUI's order. Binary events are refused; use
// EncodeFrame for any event.
func EncodeMessage(ev Event) ([]byte, error) {
	if ev == nil {
		return nil, errors.New("encode message: nil event")
	}
	if _, ok := ev.(binaryEvent); ok {
		return nil, fmt.Errorf("encode message: %s is a binary frame", ev.EventType())
	}
	if p, ok := ev.(ProgressState); ok {
		if b, ok := appendProgressState(nil, p); ok {
			return b, nil
		}
	}
	var data any = ev
	if u, ok := ev.(UnknownEvent); ok {
		data = orNull(u.Data)
	}
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{ev.EventType(), data})
	if err != nil {
		return nil, fmt.Errorf("encode %s message: %w", ev.EventType(), err)
	}
	return b, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// MarshalJSON writes nodes as [] rather than null when empty.
func (e ExecutionCached) MarshalJSON() ([]byte, error) {
	type plain ExecutionCached
	p := plain(e)
	p.Nodes = orEmptySlice(p.Nodes)
	return json.Marshal(p)
}

// MarshalJSON writes empty lists as [] and missing current_inputs as [].
func (e ExecutionError) MarshalJSON() ([]byte, error) {
	type plain ExecutionError
	p := plain(e)
	p.Executed = orEmptySlice(p.Executed)
	p.Traceback = orEmptySlice(p.Traceback)
	p.CurrentOutputs = orEmptySlice(p.CurrentOutputs)
	if len(p.CurrentInputs) == 0 {
		p.CurrentInputs = json.RawMessage("[]")
	}
	return json.Marshal(p)
}

// MarshalJSON writes executed as [] rather than null when empty.
func (e ExecutionInterrupted) MarshalJSON() ([]byte, error) {
	type plain ExecutionInterrupted
	p := plain(e)
	p.Executed = orEmptySlice(p.Executed)
	return json.Marshal(p)
}

// MarshalJSON writes output as null when unset.
func (e Executed) MarshalJSON() ([]byte, error) {
	type plain Executed
	p := plain(e)
	p.Output = orNull(p.Output)
	return json.Marshal(p)
}

// MarshalJSON writes nodes as {} rather than null when empty.
func (p ProgressState) MarshalJSON() ([]byte, error) {
	type plain ProgressState
	q := plain(p)
	q.Nodes = orEmptyMap(q.Nodes)
	return json.Marshal(q)
}

// MarshalJSON writes entries as [] rather than null when empty.
func (l Logs) MarshalJSON() ([]byte, error) {
	type plain Logs
	p := plain(l)
	p.Entries = orEmptySlice(p.Entries)
	return json.Marshal(p)
}
