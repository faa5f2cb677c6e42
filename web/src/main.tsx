// Entry point of the Parley web client.
import { render } from 'preact';
import './styles/index.css';
import { App } from './ui/App';

render(<App />, document.getElementById('app')!);
