// Entry point of the Parley web client.
import { render } from 'preact';
import './styles/index.css';
import { App } from './ui/App';
import { startTheme } from './ui/theme';

startTheme();
render(<App />, document.getElementById('app')!);
